// A small ISOBMFF/HEIF reader and writer (ISO/IEC 23008-12) for making test and bench
// files: heif-enc (Debian's libheif-examples) encodes single images; this re-assembles its
// coded images into the structures phones write (grids of 512x512 tiles, irot/imir,
// EXIF items, auxiliary images) and into deliberately broken layouts.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";

// ---- ISOBMFF reading (heif-enc's output) -----------------------------------------------

export function boxes(b, start, end) {
  const list = [];
  for (let p = start; p + 8 <= end; ) {
    const size = b.readUInt32BE(p);
    const type = b.toString("latin1", p + 4, p + 8);
    list.push({ type, body: p + 8, end: p + size, raw: b.subarray(p, p + size) });
    p += size;
  }
  return list;
}

/** The primary image of a single-image HEIF: its property boxes and coded data. */
export function readSingle(file) {
  return readItem(file);
}

/**
 * One coded item of heif-enc's output (the primary when `pick` is not given; `pick`
 * chooses among the item ids, e.g. `(ids) => ids[1]` for the alpha heif-enc writes second).
 */
export function readItem(file, pick = null) {
  const b = readFileSync(file);
  const meta = boxes(b, 0, b.length).find((x) => x.type === "meta");
  const kids = boxes(b, meta.body + 4, meta.end);
  const get = (t) => kids.find((x) => x.type === t);
  const pitm = get("pitm");
  const primary = pick ? pick(itemIds(b, get("iinf"))) : b.readUInt16BE(pitm.body + 4);
  const iprp = boxes(b, get("iprp").body, get("iprp").end);
  const ipco = boxes(
    b,
    iprp.find((x) => x.type === "ipco").body,
    iprp.find((x) => x.type === "ipco").end,
  );
  const ipma = iprp.find((x) => x.type === "ipma");
  const props = [];
  let p = ipma.body + 4;
  const flags = b.readUInt32BE(ipma.body) & 0xffffff;
  const count = b.readUInt32BE(p);
  p += 4;
  for (let i = 0; i < count; i++) {
    const id = b.readUInt16BE(p);
    const n = b[p + 2];
    p += 3;
    for (let k = 0; k < n; k++) {
      const idx = flags & 1 ? b.readUInt16BE(p) & 0x7fff : b[p] & 0x7f;
      p += flags & 1 ? 2 : 1;
      if (id === primary) props.push(ipco[idx - 1].raw);
    }
  }
  // iloc (heif-enc: version 0/1, 4-byte offsets and lengths, one extent).
  const iloc = get("iloc");
  const v = b[iloc.body];
  let q = iloc.body + 4;
  const os = b[q] >> 4;
  const ls = b[q] & 15;
  const bs = b[q + 1] >> 4;
  q += 2;
  const n = b.readUInt16BE(q);
  q += 2;
  let data = null;
  const rd = (size) => {
    const val = size === 4 ? b.readUInt32BE(q) : size === 8 ? Number(b.readBigUInt64BE(q)) : 0;
    q += size;
    return val;
  };
  for (let i = 0; i < n; i++) {
    const id = b.readUInt16BE(q);
    q += 2;
    if (v === 1) q += 2;
    q += 2;
    const base = rd(bs);
    const ne = b.readUInt16BE(q);
    q += 2;
    const parts = [];
    for (let k = 0; k < ne; k++) {
      const off = base + rd(os);
      const len = rd(ls);
      parts.push(b.subarray(off, off + len));
    }
    if (id === primary) data = Buffer.concat(parts);
  }
  const byType = (t) => props.filter((x) => x.toString("latin1", 4, 8) === t);
  return { props, byType, data };
}

/** The item ids of an iinf box (version 0, infe version 2), in order. */
function itemIds(b, iinf) {
  const ids = [];
  for (const e of boxes(b, iinf.body + 6, iinf.end)) ids.push(b.readUInt16BE(e.body + 4));
  return ids;
}

// ---- ISOBMFF writing -----------------------------------------------------------------------

export const u8 = (v) => Buffer.from([v]);
export const u16 = (v) => {
  const x = Buffer.alloc(2);
  x.writeUInt16BE(v);
  return x;
};
export const u32 = (v) => {
  const x = Buffer.alloc(4);
  x.writeUInt32BE(v >>> 0);
  return x;
};
export const str = (s) => Buffer.from(s, "latin1");
export const box = (type, ...parts) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([u32(8 + body.length), str(type), body]);
};
export const full = (type, version, flags, ...parts) =>
  box(type, u8(version), u8(flags >> 16), u16(flags & 0xffff), ...parts);
export const ispe = (w, h) => full("ispe", 0, 0, u32(w), u32(h));
export const irot = (k) => box("irot", u8(k));
export const imir = (axis) => box("imir", u8(axis));
export const auxC = (urn) => full("auxC", 0, 0, str(`${urn}\0`));

/**
 * items: [{ id, type, hidden?, data (Buffer) | idat (Buffer), props: [Buffer], essential? }]
 * refs: [{ type, from, to: [ids] }]
 */
export function writeHeif({
  brand = "heic",
  compat = ["mif1", "heic", "miaf"],
  primary,
  items,
  refs = [],
}) {
  const ftyp = box("ftyp", str(brand), u32(0), ...compat.map(str));
  // Properties deduplicated by content.
  const ipco = [];
  const indexOf = (p) => {
    const i = ipco.findIndex((x) => x.equals(p));
    if (i >= 0) return i + 1;
    ipco.push(p);
    return ipco.length;
  };
  const assoc = items.map((it) => ({ id: it.id, idx: it.props.map(indexOf) }));
  const ipma = full(
    "ipma",
    0,
    0,
    u32(assoc.length),
    ...assoc.map((a) =>
      Buffer.concat([u16(a.id), u8(a.idx.length), ...a.idx.map((i) => u8(0x80 | i))]),
    ),
  );
  const iprp = box("iprp", box("ipco", ...ipco), ipma);
  const hdlr = full("hdlr", 0, 0, u32(0), str("pict"), u32(0), u32(0), u32(0), u8(0));
  const pitm = full("pitm", 0, 0, u16(primary));
  const iinf = full(
    "iinf",
    0,
    0,
    u16(items.length),
    ...items.map((it) =>
      full("infe", 2, it.hidden ? 1 : 0, u16(it.id), u16(0), str(it.type), u8(0)),
    ),
  );
  const iref = refs.length
    ? full(
        "iref",
        0,
        0,
        ...refs.map((r) => box(r.type, u16(r.from), u16(r.to.length), ...r.to.map(u16))),
      )
    : Buffer.alloc(0);
  const idatParts = [];
  let idatLen = 0;
  const idatOff = new Map();
  for (const it of items.filter((x) => x.idat)) {
    idatOff.set(it.id, idatLen);
    idatParts.push(it.idat);
    idatLen += it.idat.length;
  }
  const idat = idatParts.length ? box("idat", ...idatParts) : Buffer.alloc(0);
  const fileItems = items.filter((x) => x.data);
  const iloc = (mdatStart) => {
    let off = mdatStart;
    const entries = items.map((it) => {
      if (it.idat)
        return Buffer.concat([
          u16(it.id),
          u16(1),
          u16(0),
          u16(1),
          u32(idatOff.get(it.id)),
          u32(it.idat.length),
        ]);
      const e = Buffer.concat([u16(it.id), u16(0), u16(0), u16(1), u32(off), u32(it.data.length)]);
      off += it.data.length;
      return e;
    });
    return full("iloc", 1, 0, u8(0x44), u8(0x00), u16(items.length), ...entries);
  };
  const metaOf = (mdatStart) =>
    full("meta", 0, 0, hdlr, pitm, iloc(mdatStart), iinf, iref, iprp, idat);
  const metaLen = metaOf(0).length;
  const mdatStart = ftyp.length + metaLen + 8;
  const meta = metaOf(mdatStart);
  const mdat = box("mdat", ...fileItems.map((x) => x.data));
  return Buffer.concat([ftyp, meta, mdat]);
}

/** A little-endian TIFF with Make, Model, Orientation and DateTimeOriginal (EXIF IFD). */
export function exifTiff({ make, model, orientation, taken }) {
  const entries0 = [];
  const extra = [];
  const ifd0Count = 4;
  const ifd0Size = 2 + ifd0Count * 12 + 4;
  const exifIfdSize = 2 + 12 + 4;
  let dataOff = 8 + ifd0Size + exifIfdSize;
  const ascii = (tag, s) => {
    const bytes = Buffer.from(`${s}\0`, "latin1");
    const e = Buffer.alloc(12);
    e.writeUInt16LE(tag, 0);
    e.writeUInt16LE(2, 2);
    e.writeUInt32LE(bytes.length, 4);
    if (bytes.length <= 4) bytes.copy(e, 8);
    else {
      e.writeUInt32LE(dataOff, 8);
      extra.push(bytes);
      dataOff += bytes.length;
    }
    return e;
  };
  const short = (tag, v) => {
    const e = Buffer.alloc(12);
    e.writeUInt16LE(tag, 0);
    e.writeUInt16LE(3, 2);
    e.writeUInt32LE(1, 4);
    e.writeUInt16LE(v, 8);
    return e;
  };
  const long = (tag, v) => {
    const e = Buffer.alloc(12);
    e.writeUInt16LE(tag, 0);
    e.writeUInt16LE(4, 2);
    e.writeUInt32LE(1, 4);
    e.writeUInt32LE(v, 8);
    return e;
  };
  entries0.push(
    ascii(0x010f, make),
    ascii(0x0110, model),
    short(0x0112, orientation),
    long(0x8769, 8 + ifd0Size),
  );
  const exifEntry = ascii(0x9003, taken);
  const head = Buffer.from("II*\0\x08\0\0\0", "latin1");
  return Buffer.concat([
    head,
    u16le(ifd0Count),
    ...entries0,
    Buffer.alloc(4),
    u16le(1),
    exifEntry,
    Buffer.alloc(4),
    ...extra,
  ]);
}
function u16le(v) {
  const x = Buffer.alloc(2);
  x.writeUInt16LE(v);
  return x;
}
/** An Exif item's payload: 4 bytes of offset to the TIFF header (0), then the TIFF. */
export const exifItem = (tiff) => Buffer.concat([u32(0), tiff]);

// ---- encoders --------------------------------------------------------------------------------

export function heifEnc(input, output, args = []) {
  execFileSync("heif-enc", ["-q", "45", ...args, input, "-o", output], { stdio: "pipe" });
  return readFileSync(output);
}
export function avifEnc(input, output, args = []) {
  execFileSync("avifenc", ["-s", "8", "--min", "20", "--max", "40", ...args, input, output], {
    stdio: "pipe",
  });
  return readFileSync(output);
}

/** Encodes a sharp image as one HEVC coded image with heif-enc and reads it back. */
export async function encodeHevc(img, dir, name, args = []) {
  const png = path.join(dir, `${name}.png`);
  await img.png({ compressionLevel: 1 }).toFile(png);
  heifEnc(png, path.join(dir, `${name}.heic`), args);
  return readSingle(path.join(dir, `${name}.heic`));
}

/**
 * An iPhone-style HEIC of a raw RGB image: 512x512 tiles (edges padded by copying), one
 * `grid` item, an Exif item. `args`: extra heif-enc options for every tile.
 */
export async function gridHeic(raw, width, height, { args = [], exif = null, tile = 512 } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), "heif-grid-"));
  try {
    const cols = Math.ceil(width / tile);
    const rows = Math.ceil(height / tile);
    const padded = await sharp(raw, { raw: { width, height, channels: 3 } })
      .extend({ right: cols * tile - width, bottom: rows * tile - height, extendWith: "copy" })
      .raw()
      .toBuffer();
    const tiles = [];
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++) {
        const t = sharp(padded, {
          raw: { width: cols * tile, height: rows * tile, channels: 3 },
        }).extract({
          left: c * tile,
          top: r * tile,
          width: tile,
          height: tile,
        });
        tiles.push(await encodeHevc(t, dir, `t${r}-${c}`, args));
      }
    const big = width > 65535 || height > 65535;
    const descriptor = Buffer.concat([
      u8(0),
      u8(big ? 1 : 0),
      u8(rows - 1),
      u8(cols - 1),
      ...(big ? [u32(width), u32(height)] : [u16(width), u16(height)]),
    ]);
    const items = [
      { id: 1, type: "grid", idat: descriptor, props: [ispe(width, height)] },
      ...tiles.map((t, i) => ({
        id: 100 + i,
        type: "hvc1",
        hidden: true,
        data: t.data,
        props: [...t.byType("hvcC"), ispe(tile, tile)],
      })),
    ];
    const refs = [{ type: "dimg", from: 1, to: tiles.map((_, i) => 100 + i) }];
    if (exif) {
      items.push({ id: 2, type: "Exif", data: exifItem(exifTiff(exif)), props: [] });
      refs.push({ type: "cdsc", from: 2, to: [1] });
    }
    return writeHeif({ primary: 1, items, refs });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
