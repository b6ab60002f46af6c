// Bytes per second over the last seconds of PUT progress (the counters' throughput).

const WINDOW_MS = 5000;

export class ByteRate {
  private samples: Array<{ t: number; loaded: number }> = [];

  /** `loaded`: every byte sent so far, at `now`. */
  sample(now: number, loaded: number): void {
    this.samples.push({ t: now, loaded });
    while ((this.samples[0]?.t ?? now) < now - WINDOW_MS) this.samples.shift();
  }

  perSecond(): number {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.t - first.t < 500) return 0;
    return ((last.loaded - first.loaded) * 1000) / (last.t - first.t);
  }
}
