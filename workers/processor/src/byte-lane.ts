/**
 * A byte-weighted semaphore: each piece of work declares the most bytes it will hold and
 * starts only once that fits beside the work already running, so the images one isolate
 * processes at once never add up past its memory budget. First come, first served: a
 * large image is not starved by a stream of small ones behind it. Work that declares more
 * than the capacity runs alone.
 */
export class ByteLane {
  private used = 0;
  private readonly waiting: Array<{ bytes: number; start: () => void }> = [];

  constructor(readonly capacity: number) {
    if (!(capacity > 0)) throw new RangeError(`ByteLane: bad capacity ${capacity}`);
  }

  /** Bytes held by the work running now. */
  get inUse(): number {
    return this.used;
  }

  /** Pieces of work waiting for room. */
  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(bytes: number, work: () => Promise<T>): Promise<T> {
    const need = Math.min(this.capacity, Math.max(0, bytes));
    if (this.waiting.length === 0 && this.used + need <= this.capacity) this.used += need;
    else await new Promise<void>((start) => this.waiting.push({ bytes: need, start }));
    try {
      return await work();
    } finally {
      this.used -= need;
      this.admit();
    }
  }

  /** Starts waiting work, in order, while the first in line fits. */
  private admit(): void {
    for (let next = this.waiting[0]; next; next = this.waiting[0]) {
      if (this.used + next.bytes > this.capacity) return;
      this.waiting.shift();
      this.used += next.bytes;
      next.start();
    }
  }
}
