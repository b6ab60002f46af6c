/** Bytes of the distinct buffers given (the same pixels are often reused, never copied). */
export function distinctBytes(...views: ArrayBufferView[]): number {
  const seen = new Set<ArrayBufferLike>();
  let total = 0;
  for (const v of views) {
    if (seen.has(v.buffer)) continue;
    seen.add(v.buffer);
    total += v.byteLength;
  }
  return total;
}

/** The peak of what one image held at each step of its processing, and its warnings. */
export class PeakMeter {
  peak = 0;
  /** What the decoder forgave on the way (the decode's one other side channel). */
  warnings: string[] = [];
  note(bytes: number) {
    if (bytes > this.peak) this.peak = bytes;
  }
}
