/**
 * Reading ISOBMFF (ISO/IEC 14496-12) boxes: a bounds-checked byte reader and the walk over
 * a box's children. Every length is checked against its parent before it is used.
 */
import type { WorkMeter } from "../../image/work";
import { HeifError } from "./errors";

export const ascii = (b: Uint8Array, i: number, n: number) =>
  String.fromCharCode(...b.subarray(i, i + n));

export class Reader {
  constructor(
    readonly b: Uint8Array,
    public p: number,
    readonly end: number,
    readonly what: string,
  ) {}
  need(n: number) {
    if (this.p + n > this.end)
      throw new HeifError("corrupt", `The HEIF ${this.what} box is cut short`);
  }
  u8() {
    this.need(1);
    return this.b[this.p++] ?? 0;
  }
  u16() {
    this.need(2);
    const v = ((this.b[this.p] ?? 0) << 8) | (this.b[this.p + 1] ?? 0);
    this.p += 2;
    return v;
  }
  u32() {
    const hi = this.u16();
    return hi * 65536 + this.u16();
  }
  /** 0, 4 or 8 bytes (iloc's variable-size fields); 8-byte values must fit 2^53. */
  uN(size: number): number {
    if (size === 0) return 0;
    if (size === 4) return this.u32();
    if (size === 8) {
      const hi = this.u32();
      if (hi >= 0x200000) throw new HeifError("corrupt", "The HEIF file has an impossible offset");
      return hi * 2 ** 32 + this.u32();
    }
    throw new HeifError("corrupt", `The HEIF ${this.what} box has a field of ${size} bytes`);
  }
  i32() {
    const v = this.u32();
    return v >= 0x80000000 ? v - 0x100000000 : v;
  }
  fourcc() {
    this.need(4);
    const s = ascii(this.b, this.p, 4);
    this.p += 4;
    return s;
  }
  cstring() {
    let s = "";
    while (this.p < this.end) {
      const c = this.b[this.p++] ?? 0;
      if (c === 0) return s;
      if (s.length < 256) s += String.fromCharCode(c);
    }
    return s;
  }
  bytes(n: number) {
    this.need(n);
    const v = this.b.subarray(this.p, this.p + n);
    this.p += n;
    return v;
  }
}

export type Box = { type: string; start: number; body: number; end: number };

/**
 * The boxes in [start, end): headers only, each checked to fit its parent, one work unit
 * each. `end` may lie past `b` (the top level of a file of which `b` is the start):
 * headers past `b` are not listed.
 */
export function children(
  b: Uint8Array,
  start: number,
  end: number,
  parent: string,
  work: WorkMeter,
  max = 10000,
): Box[] {
  const out: Box[] = [];
  let p = start;
  while (p + 8 <= Math.min(end, b.length)) {
    work.charge(1, `a box in the HEIF ${parent} box`);
    const r = new Reader(b, p, end, parent);
    let size = r.u32();
    const type = r.fourcc();
    if (size === 1) size = r.uN(8);
    else if (size === 0) size = end - p;
    const body = r.p;
    if (size < body - p || p + size > end) {
      throw new HeifError(
        "corrupt",
        `The HEIF file is truncated or corrupt (the ${type.replace(/[^\x20-\x7e]/g, "?")} box runs past ${parent === "file" ? "the end of the file" : `its ${parent} box`})`,
      );
    }
    out.push({ type, start: p, body, end: p + size });
    if (out.length > max)
      throw new HeifError("corrupt", `The HEIF ${parent} box has too many boxes`);
    p += size;
  }
  return out;
}

/** Brands of an ftyp box at the start of `b`, or null when there is none. */
export function ftypBrands(b: Uint8Array): { major: string; brands: string[] } | null {
  if (b.length < 16 || ascii(b, 4, 4) !== "ftyp") return null;
  const size = Math.min(
    (((b[0] ?? 0) << 24) >>> 0) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0),
    b.length,
    4096,
  );
  const major = ascii(b, 8, 4);
  const brands = [major];
  for (let i = 16; i + 4 <= size; i += 4) brands.push(ascii(b, i, 4));
  return { major, brands };
}
