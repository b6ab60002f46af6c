/**
 * The HEIF container (ISO/IEC 23008-12 on ISOBMFF, ISO/IEC 14496-12): just enough of it to
 * find the primary image, its coded data (one HEVC/AV1 image, or the tiles of a grid), its
 * properties (size, transforms, colour, codec configuration), its alpha plane and its
 * EXIF block. Everything else (thumbnails, depth maps, HDR gain maps, XMP) is skipped
 * without being read. Every length is checked against the file before it is used, and
 * every count against a cap, so a hostile file costs at most a pass over its box headers.
 */

export type HeifErrorCode = "corrupt" | "unsupported" | "too-large";

export class HeifError extends Error {
  override readonly name = "HeifError";
  constructor(
    readonly code: HeifErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Only the start of the file was given and what is needed lies past it (a meta box after
 * the image data, or a grid descriptor stored in mdat): parse the whole file instead.
 */
export class HeifNeedsMore extends Error {
  override readonly name = "HeifNeedsMore";
}

/** Caps on what a file may declare; far beyond any camera's output. */
export const HEIF_LIMITS = {
  /** Items in iinf (an iPhone photo has ~50: 48 tiles, EXIF, a thumbnail, depth...). */
  maxItems: 4096,
  /** Tiles of one grid (a 48 MP iPhone photo at 512x512 tiles has 192). */
  maxTiles: 1024,
  /** Properties in ipco and associations per item. */
  maxProperties: 4096,
  /** Extents of one item. */
  maxExtents: 256,
  /** Edge of one coded image (a tile or a single-image photo). */
  maxCodedEdge: 16384,
};

export type Nclx = { primaries: number; transfer: number; matrix: number; fullRange: boolean };

/** A transformative property, in the order the file lists them (the order they apply). */
export type Transform =
  | { kind: "irot"; quarterTurnsCcw: number }
  | { kind: "imir"; axis: 0 | 1 }
  | { kind: "clap"; width: number; height: number; horizOff: number; vertOff: number };

export type CodedImage = {
  id: number;
  /** The coded data: HEVC/AV1 NAL units / OBUs, extents concatenated lazily. */
  extents: { offset: number; length: number }[];
  length: number;
};

export type HeifImageItem = {
  id: number;
  type: "hvc1" | "av01" | "grid";
  width: number;
  height: number;
  /** hvcC: parameter sets, 4-byte length-prefixed, and the NAL length size of the data. */
  hvcC: { nals: Uint8Array; nalLengthSize: number; chromaFormat: number; bitDepth: number } | null;
  /** av1C present (AVIF): the bytes of the property. */
  av1C: Uint8Array | null;
  nclx: Nclx | null;
  icc: Uint8Array | null;
  transforms: Transform[];
  /** Bits per channel from pixi, when present. */
  bitDepth: number | null;
  /** Coded image (hvc1 / av01) or, for a grid, the layout and its tiles in raster order. */
  coded: CodedImage | null;
  grid: { rows: number; columns: number; tiles: HeifImageItem[] } | null;
};

export type HeifFile = {
  majorBrand: string;
  brands: string[];
  primary: HeifImageItem;
  alpha: HeifImageItem | null;
  /** The TIFF block of the primary image's EXIF item (starts at "II*\0" / "MM\0*"). */
  exif: Uint8Array | null;
};

const ascii = (b: Uint8Array, i: number, n: number) => String.fromCharCode(...b.subarray(i, i + n));

class Reader {
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

type Box = { type: string; start: number; body: number; end: number };

/**
 * The boxes in [start, end): headers only, each checked to fit its parent. `end` may lie
 * past `b` (the top level of a file of which `b` is the start): headers past `b` are not
 * listed.
 */
function children(b: Uint8Array, start: number, end: number, parent: string, max = 10000): Box[] {
  const out: Box[] = [];
  let p = start;
  while (p + 8 <= Math.min(end, b.length)) {
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

type Prop = { type: string; r: () => Reader; raw: Uint8Array };
type Item = { id: number; type: string; hidden: boolean };
type Loc = { method: number; baseOffset: number; extents: { offset: number; length: number }[] };

/**
 * Parses the container. `codec`: which coded images the caller decodes (hvc1 for HEIC,
 * av01 for AVIF): the primary image must be of that kind or a grid of it.
 */
export function parseHeif(b: Uint8Array, codec: "hvc1" | "av01", fileBytes = b.length): HeifFile {
  const top = children(b, 0, fileBytes, "file");
  const ftyp = ftypBrands(b);
  if (!ftyp) throw new HeifError("corrupt", "The HEIF file has no ftyp box");
  const metaBox = top.find((x) => x.type === "meta");
  if (metaBox && metaBox.end > b.length)
    throw new HeifNeedsMore("the meta box ends past the prefix");
  if (!metaBox) {
    if (b.length < fileBytes) throw new HeifNeedsMore("no meta box in the prefix");
    if (top.some((x) => x.type === "moov")) {
      throw new HeifError(
        "unsupported",
        "This HEIF file is an image sequence (burst or animation) without a still image; export the photo you want as a still HEIC or JPEG",
      );
    }
    throw new HeifError(
      "corrupt",
      "The HEIF file has no meta box (truncated, or not a HEIF image)",
    );
  }
  // meta is a FullBox: 4 bytes of version and flags before its children.
  const meta = children(b, metaBox.body + 4, metaBox.end, "meta");
  const find = (t: string) => meta.find((x) => x.type === t);

  const hdlr = find("hdlr");
  if (!hdlr || ascii(b, hdlr.body + 8, 4) !== "pict") {
    throw new HeifError("corrupt", "The HEIF meta box is not a picture (hdlr)");
  }
  const pitm = find("pitm");
  if (!pitm) throw new HeifError("corrupt", "The HEIF file names no primary image (pitm)");
  const pr = new Reader(b, pitm.body, pitm.end, "pitm");
  const pitmVersion = pr.u8();
  pr.p += 3;
  const primaryId = pitmVersion === 0 ? pr.u16() : pr.u32();

  // iinf: the items.
  const items = new Map<number, Item>();
  const iinf = find("iinf");
  if (!iinf) throw new HeifError("corrupt", "The HEIF file has no item list (iinf)");
  {
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
    for (const infe of children(b, r.p, iinf.end, "iinf", HEIF_LIMITS.maxItems)) {
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
  }

  // iloc: where each item's data is.
  const locs = new Map<number, Loc>();
  const iloc = find("iloc");
  if (!iloc) throw new HeifError("corrupt", "The HEIF file has no item locations (iloc)");
  {
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
      for (let k = 0; k < n; k++) {
        r.uN(indexSize);
        const offset = r.uN(offsetSize);
        const length = r.uN(lengthSize);
        extents.push({ offset, length });
      }
      if (dataRef !== 0) continue; // data in another file: never read
      locs.set(id, { method, baseOffset, extents });
    }
  }
  const idat = find("idat");

  // iref: grids' tiles (dimg), auxiliary images (auxl), metadata (cdsc).
  const refs: { type: string; from: number; to: number[] }[] = [];
  const iref = find("iref");
  if (iref) {
    const r = new Reader(b, iref.body, iref.end, "iref");
    const version = r.u8();
    r.p += 3;
    for (const ref of children(b, r.p, iref.end, "iref", HEIF_LIMITS.maxItems)) {
      const e = new Reader(b, ref.body, ref.end, ref.type);
      const from = version === 0 ? e.u16() : e.u32();
      const n = e.u16();
      if (n > HEIF_LIMITS.maxItems)
        throw new HeifError("too-large", "A HEIF reference lists too many items");
      const to: number[] = [];
      for (let k = 0; k < n; k++) to.push(version === 0 ? e.u16() : e.u32());
      refs.push({ type: ref.type, from, to });
    }
  }

  // iprp: properties and which item has which.
  const props: Prop[] = [];
  const assoc = new Map<number, number[]>();
  const iprp = find("iprp");
  if (iprp) {
    const parts = children(b, iprp.body, iprp.end, "iprp");
    const ipco = parts.find((x) => x.type === "ipco");
    if (ipco) {
      for (const p of children(b, ipco.body, ipco.end, "ipco", HEIF_LIMITS.maxProperties)) {
        props.push({
          type: p.type,
          r: () => new Reader(b, p.body, p.end, p.type),
          raw: b.subarray(p.body, p.end),
        });
      }
    }
    for (const ipma of parts.filter((x) => x.type === "ipma")) {
      const r = new Reader(b, ipma.body, ipma.end, "ipma");
      const version = r.u8();
      const flags = (r.u8() << 16) | r.u16();
      const count = r.u32();
      if (count > HEIF_LIMITS.maxItems)
        throw new HeifError("too-large", "The HEIF file associates too many items");
      for (let i = 0; i < count; i++) {
        const id = version < 1 ? r.u16() : r.u32();
        const n = r.u8();
        const list = assoc.get(id) ?? [];
        for (let k = 0; k < n; k++)
          list.push((flags & 1 ? r.u16() : r.u8()) & (flags & 1 ? 0x7fff : 0x7f));
        assoc.set(id, list);
      }
    }
  }

  const dataOf = (id: number): CodedImage => {
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
    return { id, extents, length };
  };

  const propsOf = (id: number): Prop[] =>
    (assoc.get(id) ?? [])
      .map((i) => {
        if (i === 0) return null;
        const p = props[i - 1];
        if (!p)
          throw new HeifError(
            "corrupt",
            `A HEIF item refers to property ${i}, which does not exist`,
          );
        return p;
      })
      .filter((p): p is Prop => p !== null);

  const describeItem = (id: number, depth: number): HeifImageItem => {
    const item = items.get(id);
    if (!item)
      throw new HeifError("corrupt", `The HEIF file's image ${id} is not in its item list`);
    const ps = propsOf(id);
    let width = 0;
    let height = 0;
    let hvcC: HeifImageItem["hvcC"] = null;
    let av1C: Uint8Array | null = null;
    let nclx: Nclx | null = null;
    let icc: Uint8Array | null = null;
    let bitDepth: number | null = null;
    const transforms: Transform[] = [];
    for (const p of ps) {
      const r = p.r();
      switch (p.type) {
        case "ispe":
          r.u32();
          width = r.u32();
          height = r.u32();
          break;
        case "hvcC":
          hvcC = parseHvcC(r);
          break;
        case "av1C":
          av1C = p.raw;
          break;
        case "colr": {
          const kind = r.fourcc();
          if (kind === "nclx") {
            nclx = {
              primaries: r.u16(),
              transfer: r.u16(),
              matrix: r.u16(),
              fullRange: (r.u8() & 0x80) !== 0,
            };
          } else if (kind === "prof" || kind === "rICC") {
            icc = r.bytes(r.end - r.p);
          }
          break;
        }
        case "pixi": {
          r.u32();
          const n = r.u8();
          if (n > 0) bitDepth = r.u8();
          break;
        }
        case "irot":
          transforms.push({ kind: "irot", quarterTurnsCcw: r.u8() & 3 });
          break;
        case "imir":
          transforms.push({ kind: "imir", axis: (r.u8() & 1) as 0 | 1 });
          break;
        case "clap": {
          const wn = r.u32();
          const wd = r.u32();
          const hn = r.u32();
          const hd = r.u32();
          const hon = r.i32();
          const hod = r.u32();
          const von = r.i32();
          const vod = r.u32();
          if (!wd || !hd || !hod || !vod)
            throw new HeifError("corrupt", "The HEIF clean aperture (clap) divides by zero");
          transforms.push({
            kind: "clap",
            width: wn / wd,
            height: hn / hd,
            horizOff: hon / hod,
            vertOff: von / vod,
          });
          break;
        }
      }
    }
    if (item.type === "grid") {
      if (depth > 0) throw new HeifError("unsupported", "HEIF grids of grids are not supported");
      const data = dataOf(id);
      const first = data.extents[0];
      if (!first || data.length < 8)
        throw new HeifError("corrupt", "The HEIF grid descriptor is cut short");
      const r = new Reader(b, first.offset, first.offset + first.length, "grid");
      r.u8();
      const flags = r.u8();
      const rows = r.u8() + 1;
      const columns = r.u8() + 1;
      const outW = flags & 1 ? r.u32() : r.u16();
      const outH = flags & 1 ? r.u32() : r.u16();
      const tileIds = refs.find((x) => x.type === "dimg" && x.from === id)?.to ?? [];
      if (rows * columns > HEIF_LIMITS.maxTiles) {
        throw new HeifError(
          "too-large",
          `The HEIF grid has ${rows * columns} tiles; at most ${HEIF_LIMITS.maxTiles} are accepted`,
        );
      }
      if (tileIds.length !== rows * columns) {
        throw new HeifError(
          "corrupt",
          `The HEIF grid is ${columns}x${rows} but lists ${tileIds.length} tiles`,
        );
      }
      const tiles = tileIds.map((t) => describeItem(t, depth + 1));
      const t0 = tiles[0];
      if (!t0) throw new HeifError("corrupt", "The HEIF grid has no tiles");
      for (const t of tiles) {
        if (t.type !== codec)
          throw new HeifError("unsupported", `A HEIF grid tile is ${t.type}, not ${codec}`);
        if (t.width !== t0.width || t.height !== t0.height) {
          throw new HeifError("corrupt", "The HEIF grid's tiles differ in size");
        }
        if (t.transforms.length > 0)
          throw new HeifError(
            "unsupported",
            "HEIF grid tiles with their own transforms are not supported",
          );
      }
      // The tiles must cover the output and no tile column or row may lie wholly outside it.
      if (
        outW === 0 ||
        outH === 0 ||
        t0.width * columns < outW ||
        t0.height * rows < outH ||
        t0.width * (columns - 1) >= outW ||
        t0.height * (rows - 1) >= outH
      ) {
        throw new HeifError(
          "corrupt",
          `The HEIF grid's ${columns}x${rows} tiles of ${t0.width}x${t0.height} do not cover its ${outW}x${outH} image`,
        );
      }
      if (width && height && (width !== outW || height !== outH)) {
        throw new HeifError(
          "corrupt",
          `The HEIF grid says ${outW}x${outH} but its ispe says ${width}x${height}`,
        );
      }
      return {
        id,
        type: "grid",
        width: outW,
        height: outH,
        hvcC: null,
        av1C: null,
        nclx: nclx ?? t0.nclx,
        icc: icc ?? t0.icc,
        transforms,
        bitDepth: bitDepth ?? t0.bitDepth,
        coded: null,
        grid: { rows, columns, tiles },
      };
    }
    if (item.type !== codec) {
      throw new HeifError(
        "unsupported",
        item.type === "hvc1" || item.type === "av01"
          ? `The file's ftyp says ${codec === "hvc1" ? "HEIC" : "AVIF"} but its image is ${item.type === "hvc1" ? "HEVC" : "AV1"}`
          : `HEIF images coded as ${item.type.replace(/[^\x20-\x7e]/g, "?")} are not supported`,
      );
    }
    if (!width || !height)
      throw new HeifError("corrupt", `The HEIF image ${id} has no size (ispe)`);
    if (width > HEIF_LIMITS.maxCodedEdge || height > HEIF_LIMITS.maxCodedEdge) {
      throw new HeifError(
        "too-large",
        `A HEIF coded image of ${width}x${height} is larger than ${HEIF_LIMITS.maxCodedEdge} pixels on an edge`,
      );
    }
    if (codec === "hvc1" && !hvcC) {
      throw new HeifError("corrupt", "The HEIC image has no decoder configuration (hvcC)");
    }
    if (codec === "av01" && !av1C) {
      throw new HeifError("corrupt", "The AVIF image has no decoder configuration (av1C)");
    }
    return {
      id,
      type: codec,
      width,
      height,
      hvcC,
      av1C,
      nclx,
      icc,
      transforms,
      bitDepth,
      coded: dataOf(id),
      grid: null,
    };
  };

  const primary = describeItem(primaryId, 0);

  // Alpha: an auxiliary image (auxl → primary) whose auxC type says alpha. Other
  // auxiliaries (depth, HDR gain maps) and thumbnails are never described or decoded.
  let alpha: HeifImageItem | null = null;
  for (const ref of refs) {
    if (ref.type !== "auxl" || !ref.to.includes(primaryId)) continue;
    const auxC = propsOf(ref.from).find((p) => p.type === "auxC");
    if (!auxC) continue;
    const r = auxC.r();
    r.u32();
    const urn = r.cstring();
    if (
      urn === "urn:mpeg:hevc:2015:auxid:1" ||
      urn === "urn:mpeg:mpegB:cicp:systems:auxiliary:alpha"
    ) {
      const a = describeItem(ref.from, 0);
      if (a.width !== primary.width || a.height !== primary.height) {
        throw new HeifError(
          "unsupported",
          "A HEIF alpha plane of another size than its image is not supported",
        );
      }
      alpha = a;
      break;
    }
  }

  // EXIF: an "Exif" item describing (cdsc) the primary image; 4 bytes give the offset of
  // the TIFF header within what follows.
  let exif: Uint8Array | null = null;
  for (const ref of refs) {
    if (ref.type !== "cdsc" || !ref.to.includes(primaryId) || items.get(ref.from)?.type !== "Exif")
      continue;
    try {
      const d = dataOf(ref.from);
      const x = d.extents[0];
      if (!x || d.extents.length !== 1 || x.length < 8 || x.length > 1024 * 1024) continue;
      if (x.offset + x.length > b.length) continue; // past a prefix: read from the whole file
      const off = new Reader(b, x.offset, x.offset + x.length, "Exif").u32();
      if (off + 4 + 8 <= x.length) exif = b.subarray(x.offset + 4 + off, x.offset + x.length);
    } catch {
      // metadata is best effort: a broken EXIF item never fails the photo
    }
    break;
  }

  return { majorBrand: ftyp.major, brands: ftyp.brands, primary, alpha, exif };
}

function parseHvcC(r: Reader): NonNullable<HeifImageItem["hvcC"]> {
  r.u8(); // configurationVersion
  r.bytes(15); // profile, tier, level, constraint flags, min_spatial_segmentation, parallelism
  const chromaFormat = r.u8() & 3;
  const bitDepth = (r.u8() & 7) + 8;
  r.u8(); // bitDepthChromaMinus8
  r.u16(); // avgFrameRate
  const nalLengthSize = (r.u8() & 3) + 1;
  const arrays = r.u8();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (let i = 0; i < arrays; i++) {
    r.u8(); // array_completeness, NAL unit type
    const n = r.u16();
    for (let k = 0; k < n; k++) {
      const len = r.u16();
      const nal = r.bytes(len);
      const prefixed = new Uint8Array(4 + len);
      new DataView(prefixed.buffer).setUint32(0, len);
      prefixed.set(nal, 4);
      parts.push(prefixed);
      total += prefixed.length;
    }
  }
  const nals = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    nals.set(p, o);
    o += p.length;
  }
  return { nals, nalLengthSize, chromaFormat, bitDepth };
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
