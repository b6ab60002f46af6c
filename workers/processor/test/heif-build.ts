// Builds HEIF/AVIF files in tests (workerd has no file system and no encoder): the
// structure of scripts/lib/heif-writer.mjs's writeHeif, in TypeScript, plus the layouts
// an attacker would write (extents, associations and references chosen freely), around
// property boxes and coded data taken from the real fixtures.
import { parseHeif } from "../src/codecs/heif/container";
import { WorkMeter } from "../src/image/work";

export const u8 = (v: number) => Uint8Array.of(v & 255);
export const u16 = (v: number) => Uint8Array.of((v >>> 8) & 255, v & 255);
export const u32 = (v: number) =>
  Uint8Array.of((v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
export const str = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const box = (type: string, ...parts: Uint8Array[]) => {
  const body = concat(...parts);
  return concat(u32(8 + body.length), str(type), body);
};
export const full = (type: string, version: number, flags: number, ...parts: Uint8Array[]) =>
  box(type, u8(version), u8(flags >> 16), u16(flags & 0xffff), ...parts);
export const ispe = (w: number, h: number) => full("ispe", 0, 0, u32(w), u32(h));

export type ItemSpec = {
  id: number;
  type: string;
  /** Stored in mdat, one extent. */
  data?: Uint8Array;
  /** Stored in idat (construction method 1). */
  idat?: Uint8Array;
  /** Raw extents (absolute file offsets, length 0: to the end of the file) instead of data. */
  extents?: Array<[number, number]>;
  props: Uint8Array[];
};

export type HeifSpec = {
  brand?: string;
  compat?: string[];
  primary: number;
  items: ItemSpec[];
  refs?: Array<{ type: string; from: number; to: number[] }>;
  /** Extra ipma entries after the items' own: [item, property indices (1-based)]. */
  extraAssociations?: Array<[number, number[]]>;
  /** mdat grows to make the file this long (zero bytes after the items' data). */
  padTo?: number;
};

/** A HEIF file of these items (properties deduplicated by content, as writeHeif does). */
export function writeHeif(spec: HeifSpec): Uint8Array {
  const { items, refs = [], extraAssociations = [] } = spec;
  const brand = spec.brand ?? "heic";
  const compat = spec.compat ?? ["mif1", brand, "miaf"];
  const ftyp = box("ftyp", str(brand), u32(0), ...compat.map(str));
  const ipco: Uint8Array[] = [];
  const same = (a: Uint8Array, b: Uint8Array) =>
    a.length === b.length && a.every((v, i) => v === b[i]);
  const indexOf = (p: Uint8Array) => {
    const i = ipco.findIndex((x) => same(x, p));
    if (i >= 0) return i + 1;
    ipco.push(p);
    return ipco.length;
  };
  const assoc: Array<[number, number[]]> = [
    ...items.map((it): [number, number[]] => [it.id, it.props.map(indexOf)]),
    ...extraAssociations,
  ];
  const ipma = full(
    "ipma",
    0,
    1, // 16-bit property indices
    u32(assoc.length),
    ...assoc.map(([id, idx]) =>
      concat(u16(id), u8(idx.length), ...idx.map((i) => u16(0x8000 | i))),
    ),
  );
  const iprp = box("iprp", box("ipco", ...ipco), ipma);
  const hdlr = full("hdlr", 0, 0, u32(0), str("pict"), u32(0), u32(0), u32(0), u8(0));
  const pitm = full("pitm", 0, 0, u16(spec.primary));
  const iinf = full(
    "iinf",
    0,
    0,
    u16(items.length),
    ...items.map((it) => full("infe", 2, 0, u16(it.id), u16(0), str(it.type), u8(0))),
  );
  const iref = refs.length
    ? full(
        "iref",
        0,
        0,
        ...refs.map((r) => box(r.type, u16(r.from), u16(r.to.length), ...r.to.map(u16))),
      )
    : new Uint8Array(0);
  const idatOff = new Map<number, number>();
  let idatLen = 0;
  for (const it of items)
    if (it.idat) {
      idatOff.set(it.id, idatLen);
      idatLen += it.idat.length;
    }
  const idat = idatLen
    ? box("idat", ...items.flatMap((it) => (it.idat ? [it.idat] : [])))
    : new Uint8Array(0);
  const iloc = (mdatStart: number) => {
    let off = mdatStart;
    const entries = items.map((it) => {
      if (it.idat)
        return concat(
          u16(it.id),
          u16(1),
          u16(0),
          u16(1),
          u32(idatOff.get(it.id) ?? 0),
          u32(it.idat.length),
        );
      const extents = it.extents ?? [[off, it.data?.length ?? 0]];
      if (!it.extents) off += it.data?.length ?? 0;
      return concat(
        u16(it.id),
        u16(0),
        u16(0),
        u16(extents.length),
        ...extents.flatMap(([o, l]) => [u32(o), u32(l)]),
      );
    });
    return full("iloc", 1, 0, u8(0x44), u8(0x00), u16(items.length), ...entries);
  };
  const metaOf = (mdatStart: number) =>
    full("meta", 0, 0, hdlr, pitm, iloc(mdatStart), iinf, iref, iprp, idat);
  const mdatStart = ftyp.length + metaOf(0).length + 8;
  const data = concat(...items.flatMap((it) => (it.data && !it.extents ? [it.data] : [])));
  const head = concat(ftyp, metaOf(mdatStart));
  const pad = Math.max(0, (spec.padTo ?? 0) - head.length - 8 - data.length);
  return concat(head, box("mdat", data, new Uint8Array(pad)));
}

/**
 * The primary image of a real single-image HEIF fixture: its property boxes (whole, in
 * ipma order) and its coded data, to rebuild it in other layouts.
 */
export function primaryParts(file: Uint8Array, codec: "hvc1" | "av01") {
  const heif = parseHeif(file, codec, file.length, WorkMeter.forFile(file.length));
  const p = heif.primary;
  const x = p.coded?.extents[0];
  if (!x || p.coded?.extents.length !== 1) throw new Error("not a single-extent image");
  return {
    width: p.width,
    height: p.height,
    data: file.slice(x.offset, x.offset + x.length),
    box: (type: string) => findBox(file, type),
  };
}

/** The first box of `type` under meta/iprp/ipco (the whole box, header included). */
export function findBox(file: Uint8Array, type: string): Uint8Array {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const walk = (start: number, end: number): Uint8Array | null => {
    for (let p = start; p + 8 <= end; ) {
      const size = dv.getUint32(p);
      const t = String.fromCharCode(...file.subarray(p + 4, p + 8));
      if (t === type) return file.slice(p, p + size);
      const inner =
        t === "meta"
          ? walk(p + 12, p + size)
          : t === "iprp" || t === "ipco"
            ? walk(p + 8, p + size)
            : null;
      if (inner) return inner;
      if (size < 8) return null;
      p += size;
    }
    return null;
  };
  const found = walk(0, file.length);
  if (!found) throw new Error(`no ${type} box`);
  return found;
}

/** A sample format: HEVC chroma_format_idc (1: 4:2:0, 3: 4:4:4) and bit depths. */
export type SpsFormat = { chroma: number; depth: number; depthChroma: number };
const FORMAT_420_8: SpsFormat = { chroma: 1, depth: 8, depthChroma: 8 };

/** An HEVC SPS NAL unit (type 33) coding a picture of `width` x `height` (8-bit 4:2:0). */
export function hevcSps(width: number, height: number, format = FORMAT_420_8): Uint8Array {
  const bits: number[] = [];
  const put = (v: number, n: number) => {
    for (let i = n - 1; i >= 0; i--) bits.push(Math.floor(v / 2 ** i) & 1);
  };
  const ue = (v: number) => {
    const x = v + 1;
    const n = Math.floor(Math.log2(x));
    put(0, n);
    put(x, n + 1);
  };
  put(0, 4); // vps id
  put(0, 3); // max_sub_layers_minus1
  put(1, 1); // temporal_id_nesting
  put(0, 88); // profile
  put(0, 8); // level
  ue(0); // sps id
  ue(format.chroma); // chroma_format_idc
  if (format.chroma === 3) put(0, 1); // separate_colour_plane_flag
  ue(width);
  ue(height);
  put(0, 1); // conformance_window_flag
  ue(format.depth - 8);
  ue(format.depthChroma - 8);
  put(1, 1); // stop bit (the rest of a real SPS is never read before the decoder)
  while (bits.length % 8) bits.push(0);
  const body = new Uint8Array(bits.length / 8);
  for (let i = 0; i < body.length; i++)
    for (let k = 0; k < 8; k++) body[i] = (body[i] ?? 0) * 2 + (bits[i * 8 + k] ?? 0);
  // No emulation prevention needed: the profile's zero bytes are followed by non-3 bytes
  // only when escaped; insert 03 after each 00 00 pair.
  const out: number[] = [0x42, 0x01];
  let zeros = 0;
  for (const v of body) {
    if (zeros >= 2 && v <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(v);
    zeros = v === 0 ? zeros + 1 : 0;
  }
  return Uint8Array.from(out);
}

/** An hvcC box declaring `format` and carrying one parameter set, `sps` (4-byte NAL lengths). */
export function hvcCBox(sps: Uint8Array, format = FORMAT_420_8): Uint8Array {
  return box(
    "hvcC",
    u8(1), // configurationVersion
    new Uint8Array(15), // profile, tier, level, constraint flags, segmentation, parallelism
    u8(0xfc | format.chroma),
    u8(0xf8 | (format.depth - 8)),
    u8(0xf8 | (format.depthChroma - 8)),
    u16(0), // avgFrameRate
    u8(0x0f), // constantFrameRate 0, numTemporalLayers 1, temporalIdNested 1, 4-byte lengths
    u8(1), // one array
    u8(33), // SPS
    u16(1),
    u16(sps.length),
    sps,
  );
}
