/**
 * The meta box's item tables: the primary item (pitm), the items (iinf), where each item's
 * data lies (iloc, idat) and how items refer to each other (iref). Every count is checked
 * against HEIF_LIMITS before anything is read for it.
 */
import type { WorkMeter } from "../../image/work";
import { HEIF_LIMITS, HeifError } from "./errors";
import { type Box, children, Reader } from "./reader";
import type { CodedImage } from "./types";

export type Item = { id: number; type: string; hidden: boolean };
export type Loc = {
  method: number;
  baseOffset: number;
  extents: { offset: number; length: number }[];
};
export type Ref = { type: string; from: number; to: number[] };

/** The primary item's id (pitm). */
export function parsePrimaryId(b: Uint8Array, pitm: Box | undefined): number {
  if (!pitm) throw new HeifError("corrupt", "The HEIF file names no primary image (pitm)");
  const pr = new Reader(b, pitm.body, pitm.end, "pitm");
  const pitmVersion = pr.u8();
  pr.p += 3;
  return pitmVersion === 0 ? pr.u16() : pr.u32();
}

/** iinf: the items. */
export function parseItems(
  b: Uint8Array,
  iinf: Box | undefined,
  work: WorkMeter,
): Map<number, Item> {
  const items = new Map<number, Item>();
  if (!iinf) throw new HeifError("corrupt", "The HEIF file has no item list (iinf)");
  const r = new Reader(b, iinf.body, iinf.end, "iinf");
  const version = r.u8();
  r.p += 3;
  const count = version === 0 ? r.u16() : r.u32();
  if (count > HEIF_LIMITS.maxItems) {
    throw new HeifError(
      "too-large",
      `The HEIF file declares ${count} items; at most ${HEIF_LIMITS.maxItems} are accepted`,
    );
  }
  for (const infe of children(b, r.p, iinf.end, "iinf", work, HEIF_LIMITS.maxItems)) {
    if (infe.type !== "infe") continue;
    const e = new Reader(b, infe.body, infe.end, "infe");
    const v = e.u8();
    const flags = (e.u8() << 16) | e.u16();
    if (v < 2) continue; // pre-HEIF item entries carry no item type
    const id = v === 2 ? e.u16() : e.u32();
    e.u16(); // protection index
    const type = e.fourcc();
    items.set(id, { id, type, hidden: (flags & 1) === 1 });
  }
  return items;
}

/** iloc: where each item's data is. */
export function parseLocations(
  b: Uint8Array,
  iloc: Box | undefined,
  work: WorkMeter,
): Map<number, Loc> {
  const locs = new Map<number, Loc>();
  if (!iloc) throw new HeifError("corrupt", "The HEIF file has no item locations (iloc)");
  const r = new Reader(b, iloc.body, iloc.end, "iloc");
  const version = r.u8();
  r.p += 3;
  const s1 = r.u8();
  const s2 = r.u8();
  const offsetSize = s1 >> 4;
  const lengthSize = s1 & 15;
  const baseOffsetSize = s2 >> 4;
  const indexSize = version === 1 || version === 2 ? s2 & 15 : 0;
  const count = version < 2 ? r.u16() : r.u32();
  if (count > HEIF_LIMITS.maxItems) {
    throw new HeifError(
      "too-large",
      `The HEIF file locates ${count} items; at most ${HEIF_LIMITS.maxItems} are accepted`,
    );
  }
  for (let i = 0; i < count; i++) {
    work.charge(1, "an item location (iloc)");
    const id = version < 2 ? r.u16() : r.u32();
    const method = version === 1 || version === 2 ? r.u16() & 15 : 0;
    const dataRef = r.u16();
    const baseOffset = r.uN(baseOffsetSize);
    const n = r.u16();
    if (n > HEIF_LIMITS.maxExtents) {
      throw new HeifError(
        "too-large",
        `A HEIF item has ${n} data extents; at most ${HEIF_LIMITS.maxExtents} are accepted`,
      );
    }
    const extents: Loc["extents"] = [];
    work.charge(n, "item data extents (iloc)");
    for (let k = 0; k < n; k++) {
      r.uN(indexSize);
      const offset = r.uN(offsetSize);
      const length = r.uN(lengthSize);
      extents.push({ offset, length });
    }
    if (dataRef !== 0) continue; // data in another file: never read
    locs.set(id, { method, baseOffset, extents });
  }
  return locs;
}

/** iref: grids' tiles (dimg), auxiliary images (auxl), metadata (cdsc). */
export function parseRefs(b: Uint8Array, iref: Box | undefined, work: WorkMeter): Ref[] {
  const refs: Ref[] = [];
  if (!iref) return refs;
  const r = new Reader(b, iref.body, iref.end, "iref");
  const version = r.u8();
  r.p += 3;
  for (const ref of children(b, r.p, iref.end, "iref", work, HEIF_LIMITS.maxItems)) {
    const e = new Reader(b, ref.body, ref.end, ref.type);
    const from = version === 0 ? e.u16() : e.u32();
    const n = e.u16();
    if (n > HEIF_LIMITS.maxItems)
      throw new HeifError("too-large", "A HEIF reference lists too many items");
    work.charge(n, "item references (iref)");
    const to: number[] = [];
    for (let k = 0; k < n; k++) to.push(version === 0 ? e.u16() : e.u32());
    refs.push({ type: ref.type, from, to });
  }
  return refs;
}

/**
 * Where item `id`'s data lies in the file, each extent checked to end within the file
 * (`fileBytes`) or within idat, the extents checked not to overlap and so to add up to
 * no more than the file: `codedBytes` allocates their sum, so 256 "to the end of the
 * file" extents of a 4 MB file would otherwise ask for 1 GB.
 */
export function itemData(
  locs: Map<number, Loc>,
  idat: Box | undefined,
  fileBytes: number,
  id: number,
): CodedImage {
  const loc = locs.get(id);
  if (!loc || loc.extents.length === 0) {
    throw new HeifError("corrupt", `The HEIF file does not say where image ${id}'s data is`);
  }
  const extents: CodedImage["extents"] = [];
  let length = 0;
  for (const x of loc.extents) {
    let offset = loc.baseOffset + x.offset;
    let len = x.length;
    let limit = fileBytes;
    if (loc.method === 1) {
      if (!idat) throw new HeifError("corrupt", "The HEIF file refers to an idat box it lacks");
      offset += idat.body;
      limit = idat.end;
    } else if (loc.method !== 0) {
      throw new HeifError("unsupported", "HEIF items built from other items are not supported");
    }
    // Length 0: to the end of the file (or of idat).
    if (len === 0) len = limit - offset;
    if (offset < 0 || len < 0 || offset + len > limit) {
      throw new HeifError(
        "corrupt",
        "The HEIF file is truncated (image data runs past the end of the file)",
      );
    }
    extents.push({ offset, length: len });
    length += len;
  }
  const sorted = [...extents].sort((x, y) => x.offset - y.offset);
  for (let k = 1; k < sorted.length; k++) {
    const a = sorted[k - 1];
    const z = sorted[k];
    if (a && z && a.offset + a.length > z.offset && a.length > 0 && z.length > 0) {
      throw new HeifError(
        "corrupt",
        `The HEIF file's image ${id} has data extents that overlap (bytes ${z.offset}-${Math.min(a.offset + a.length, z.offset + z.length)} twice)`,
      );
    }
  }
  if (length > fileBytes) {
    throw new HeifError(
      "corrupt",
      `The HEIF file's image ${id} has data extents adding up to ${length} bytes, more than the file's ${fileBytes}`,
    );
  }
  return { id, extents, length };
}

/** An item's coded data as one contiguous view (copied only when it has several extents). */
export function codedBytes(b: Uint8Array, c: CodedImage): Uint8Array {
  const [first, ...rest] = c.extents;
  if (!first) return new Uint8Array(0);
  if (rest.length === 0) return b.subarray(first.offset, first.offset + first.length);
  const out = new Uint8Array(c.length);
  let o = 0;
  for (const x of c.extents) {
    out.set(b.subarray(x.offset, x.offset + x.length), o);
    o += x.length;
  }
  return out;
}
