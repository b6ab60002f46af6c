/**
 * An item's coded data read where it lies, across its extents, without concatenating
 * them: the probe walks NAL unit and OBU headers through it and copies only the few
 * bytes of a parameter set, so checking a multi-extent item costs no copy of its data.
 */
import type { CodedImage } from "./types";

/** What the bitstream walks read: a Uint8Array, or an item's extents. */
export type ByteSource = {
  readonly length: number;
  at(i: number): number | undefined;
  /** A copy of [start, end) (clamped to the data). */
  slice(start: number, end: number): Uint8Array;
};

export class Spans implements ByteSource {
  readonly length: number;
  private readonly starts: number[] = [];
  constructor(
    private readonly b: Uint8Array,
    private readonly c: CodedImage,
  ) {
    let o = 0;
    for (const x of c.extents) {
      this.starts.push(o);
      o += x.length;
    }
    this.length = o;
  }

  at(i: number): number | undefined {
    if (i < 0 || i >= this.length) return undefined;
    // Extents are few (at most HEIF_LIMITS.maxExtents): a linear search is enough.
    for (let k = this.c.extents.length - 1; k >= 0; k--) {
      const s = this.starts[k] ?? 0;
      const x = this.c.extents[k];
      if (x && i >= s) return this.b[x.offset + i - s];
    }
    return undefined;
  }

  slice(start: number, end: number): Uint8Array {
    const from = Math.max(0, start);
    const out = new Uint8Array(Math.max(0, Math.min(end, this.length) - from));
    for (let i = 0; i < out.length; i++) out[i] = this.at(from + i) ?? 0;
    return out;
  }
}
