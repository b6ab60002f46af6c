// Structure-aware mutations of a valid file of each format the processor takes: the file
// is cut into its units (JPEG segments and scans, PNG chunks, GIF blocks, RIFF chunks,
// ISOBMFF boxes at every level the HEIF parser reads), and a mutation edits, repeats,
// drops or lies about one of them, or sets a size field to an extreme, so most mutants
// still get past the signature and reach the parsers and decoders.
import { chunk } from "../png-build";
import type { Rng } from "../rng";

/** Values a size or count field is set to: edges of every field width, and near misses. */
const EXTREMES = [0, 1, 2, 3, 7, 8, 15, 16, 255, 256, 4095, 4096, 16383, 16384, 65535, 65536];

const u16be = (b: Uint8Array, i: number) => ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
const u32be = (b: Uint8Array, i: number) => u16be(b, i) * 65536 + u16be(b, i + 2);
const ascii = (b: Uint8Array, i: number, n: number) => String.fromCharCode(...b.subarray(i, i + n));

function join(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function extreme(r: Rng, original: number, max: number): number {
  const v = r.next() < 0.7 ? r.pick(EXTREMES) : Math.round(original * r.pick([0.5, 2, 10, 100]));
  return Math.max(0, Math.min(max, v));
}

/** Writes `v` big- or little-endian over `n` bytes at `at` (in place). */
function put(b: Uint8Array, at: number, n: number, v: number, little = false) {
  for (let i = 0; i < n; i++) {
    const byte = Math.floor(v / 2 ** (8 * i)) & 255;
    const k = little ? at + i : at + n - 1 - i;
    if (k >= 0 && k < b.length) b[k] = byte;
  }
}

/** Byte-level damage inside [from, to): flips, a random extreme word, or zeroes. */
function damage(r: Rng, b: Uint8Array, from = 0, to = b.length) {
  if (to <= from) return;
  const at = r.int(from, to - 1);
  switch (r.int(0, 2)) {
    case 0:
      for (let k = r.int(1, 4); k > 0; k--) {
        const i = r.int(from, to - 1);
        b[i] = (b[i] ?? 0) ^ (1 << r.int(0, 7));
      }
      break;
    case 1:
      put(b, at, r.pick([2, 4]), extreme(r, 0, 0xffffffff), r.next() < 0.5);
      break;
    default:
      b.fill(0, at, Math.min(to, at + r.int(1, 16)));
  }
}

/** Repeats, drops or swaps whole units (the list is changed in place). */
function shuffleUnits(r: Rng, units: Uint8Array[], keepFirst: number) {
  if (units.length <= keepFirst) return;
  const i = r.int(keepFirst, units.length - 1);
  const unit = units[i] ?? new Uint8Array(0);
  const op = r.int(0, 2);
  if (op === 0) units.splice(i, 0, ...Array.from({ length: r.pick([1, 2, 50, 300]) }, () => unit));
  else if (op === 1) units.splice(i, 1);
  else {
    const j = r.int(keepFirst, units.length - 1);
    units[i] = units[j] ?? unit;
    units[j] = unit;
  }
}

// ---- JPEG: segments (marker + length + payload), a scan with its entropy-coded data ----

function jpegUnits(b: Uint8Array): Uint8Array[] {
  const units: Uint8Array[] = [b.subarray(0, 2)];
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) break;
    const marker = b[i + 1] ?? 0;
    if (marker === 0xd9) break;
    let end = i + 2 + u16be(b, i + 2);
    if (marker === 0xda) {
      // The scan's data: to the next marker that is not a stuffed byte or a restart.
      for (let k = end; k + 1 < b.length; k++) {
        const n = b[k + 1] ?? 0;
        if (b[k] === 0xff && n !== 0 && !(n >= 0xd0 && n <= 0xd7) && n !== 0xff) {
          end = k;
          break;
        }
        end = k + 2;
      }
    }
    units.push(b.subarray(i, Math.min(end, b.length)));
    i = end;
  }
  units.push(b.subarray(i));
  return units;
}

export function mutateJpeg(r: Rng, file: Uint8Array): Uint8Array {
  const units = jpegUnits(file).map((u) => u.slice());
  const sofs = units.filter((u) => u[0] === 0xff && [0xc0, 0xc1, 0xc2].includes(u[1] ?? 0));
  const op = r.int(0, 3);
  const sof = sofs[0];
  if (op === 0 && sof) {
    // Frame header: height, width, components or a sampling factor.
    const field = r.int(0, 3);
    if (field === 0) put(sof, 5, 2, extreme(r, u16be(sof, 5), 65535));
    else if (field === 1) put(sof, 7, 2, extreme(r, u16be(sof, 7), 65535));
    else if (field === 2) sof[9] = r.pick([0, 1, 2, 3, 4, 5, 255]);
    else sof[11] = r.int(0, 255);
  } else if (op === 1) shuffleUnits(r, units, 1);
  else if (op === 2) {
    const u = r.pick(units.slice(1));
    if (u) damage(r, u, Math.min(4, u.length - 1));
  } else return file.slice(0, r.int(2, file.length));
  return join(units);
}

// ---- PNG: chunks (rebuilt with a valid CRC, so the damage is structural) --------------------

function pngChunks(b: Uint8Array): Array<{ type: string; data: Uint8Array }> {
  const out: Array<{ type: string; data: Uint8Array }> = [];
  for (let p = 8; p + 12 <= b.length; ) {
    const len = u32be(b, p);
    out.push({ type: ascii(b, p + 4, 4), data: b.slice(p + 8, Math.min(b.length, p + 8 + len)) });
    p += 12 + len;
  }
  return out;
}

export function mutatePng(r: Rng, file: Uint8Array): Uint8Array {
  const chunks = pngChunks(file);
  const op = r.int(0, 4);
  const ihdr = chunks[0]?.data;
  if (op === 0 && ihdr && ihdr.length >= 13) {
    const field = r.int(0, 4);
    if (field < 2) put(ihdr, field * 4, 4, extreme(r, u32be(ihdr, field * 4), 0xffffffff));
    else if (field === 2) ihdr[8] = r.pick([0, 1, 2, 4, 8, 16, 32]);
    else if (field === 3) ihdr[9] = r.pick([0, 1, 2, 3, 4, 5, 6, 7]);
    else ihdr[12] = r.int(0, 2);
  } else if (op === 1) {
    const units = chunks.map((c) => chunk(c.type, c.data));
    shuffleUnits(r, units, 1);
    return join([file.subarray(0, 8), ...units]);
  } else if (op === 2) {
    // A chunk nobody expects, before the image data.
    const type = r.pick(["acTL", "tRNS", "PLTE", "IHDR", "zTXt", "QQQQ", "qqqq", "IEND"]);
    const data = new Uint8Array(r.pick([0, 1, 3, 13, 768, 70_000]));
    damage(r, data);
    chunks.splice(r.int(1, chunks.length), 0, { type, data });
  } else if (op === 3) {
    const c = r.pick(chunks);
    if (c) damage(r, c.data);
  } else return file.slice(0, r.int(8, file.length));
  return join([file.subarray(0, 8), ...chunks.map((c) => chunk(c.type, c.data))]);
}

// ---- GIF: header, extensions and frames ---------------------------------------------------

function gifUnits(b: Uint8Array): Uint8Array[] {
  const flags = b[10] ?? 0;
  let p = 13 + (flags & 0x80 ? 3 * (1 << ((flags & 7) + 1)) : 0);
  const units: Uint8Array[] = [b.subarray(0, p)];
  const subBlocks = (q: number) => {
    while (q < b.length) {
      const n = b[q] ?? 0;
      q += 1 + n;
      if (n === 0) break;
    }
    return q;
  };
  while (p < b.length && b[p] !== 0x3b) {
    const start = p;
    if (b[p] === 0x21) p = subBlocks(p + 2);
    else if (b[p] === 0x2c) {
      const f = b[p + 9] ?? 0;
      p = subBlocks(p + 10 + (f & 0x80 ? 3 * (1 << ((f & 7) + 1)) : 0) + 1);
    } else break;
    units.push(b.subarray(start, p));
  }
  units.push(b.subarray(p));
  return units;
}

export function mutateGif(r: Rng, file: Uint8Array): Uint8Array {
  const units = gifUnits(file).map((u) => u.slice());
  const frames = units.filter((u) => u[0] === 0x2c);
  const op = r.int(0, 4);
  const head = units[0];
  const frame = r.pick(frames);
  if (op === 0 && head) put(head, 6 + 2 * r.int(0, 1), 2, extreme(r, 100, 65535), true);
  else if (op === 1 && frame) put(frame, 1 + 2 * r.int(0, 3), 2, extreme(r, 100, 65535), true);
  else if (op === 2) shuffleUnits(r, units, 1);
  else if (op === 3 && frame) {
    // The LZW minimum code size, or the data.
    const f = frame[9] ?? 0;
    const lzwAt = 10 + (f & 0x80 ? 3 * (1 << ((f & 7) + 1)) : 0);
    if (r.next() < 0.4) frame[lzwAt] = r.int(0, 12);
    else damage(r, frame, lzwAt + 1);
  } else return file.slice(0, r.int(6, file.length));
  return join(units);
}

// ---- RIFF/WebP: chunks (the RIFF size recomputed, or a lie) ---------------------------------

export function mutateWebp(r: Rng, file: Uint8Array): Uint8Array {
  const chunks: Uint8Array[] = [];
  const le32 = (b: Uint8Array, i: number) =>
    ((b[i] ?? 0) | ((b[i + 1] ?? 0) << 8) | ((b[i + 2] ?? 0) << 16)) + (b[i + 3] ?? 0) * 2 ** 24;
  for (let p = 12; p + 8 <= file.length; ) {
    const size = le32(file, p + 4);
    const end = Math.min(file.length, p + 8 + size + (size & 1));
    chunks.push(file.slice(p, end));
    p = end;
  }
  const op = r.int(0, 4);
  const c = r.pick(chunks);
  if (op === 0 && c) {
    const type = ascii(c, 0, 4);
    // Canvas or bitstream dimensions.
    if (type === "VP8X") put(c, 12 + 3 * r.int(0, 1), 3, extreme(r, 100, 0xffffff), true);
    else if (type === "VP8L") put(c, 9, 4, r.int(0, 0xffffffff), true);
    else if (type === "VP8 ") put(c, 14 + 2 * r.int(0, 1), 2, extreme(r, 100, 0x3fff), true);
    else damage(r, c, 8);
    if (type === "VP8X" && r.next() < 0.3) c[8] = r.int(0, 255); // flags
  } else if (op === 1) shuffleUnits(r, chunks, 0);
  else if (op === 2 && c) damage(r, c, 8);
  else if (op === 3 && c) put(c, 4, 4, extreme(r, c.length, 0xffffffff), true);
  else return file.slice(0, r.int(12, file.length));
  const body = join(chunks);
  const head = file.slice(0, 12);
  put(head, 4, 4, r.next() < 0.9 ? body.length + 4 : extreme(r, body.length, 0xffffffff), true);
  return join([head, body]);
}

// ---- ISOBMFF (HEIF/AVIF): boxes at every level the parser reads, edited in place -----------

type BoxAt = { type: string; start: number; body: number; end: number };

/** Offset of the children in a container box's body, or null for a leaf. */
function childrenAt(type: string): number | null {
  if (type === "meta") return 4;
  if (type === "iprp" || type === "ipco" || type === "dinf") return 0;
  if (type === "iref") return 4;
  if (type === "iinf") return 6; // version 0: u16 count (v1's u32 is rare)
  return null;
}

function allBoxes(b: Uint8Array, start: number, end: number, out: BoxAt[], depth = 0): BoxAt[] {
  for (let p = start; p + 8 <= end && out.length < 5000; ) {
    const size = u32be(b, p);
    if (size < 8 || p + size > end) break;
    const type = ascii(b, p + 4, 4);
    const box = { type, start: p, body: p + 8, end: p + size };
    out.push(box);
    const kids = childrenAt(type);
    if (kids !== null && depth < 4) allBoxes(b, box.body + kids, box.end, out, depth + 1);
    p += size;
  }
  return out;
}

export function mutateHeif(r: Rng, file: Uint8Array): Uint8Array {
  const b = file.slice();
  const boxes = allBoxes(b, 0, b.length, []);
  const box = r.pick(boxes);
  if (!box) return b;
  const op = r.int(0, 5);
  if (op === 0) {
    // A size that lies (or the to-the-end marker 0, or the 64-bit marker 1).
    put(b, box.start, 4, extreme(r, box.end - box.start, 0xffffffff));
  } else if (op === 1) {
    // Gone (a box the parser skips) or mistaken for another.
    const type = r.pick(["free", "ispe", "hvcC", "av1C", "iloc", "ipma", "grid", "idat", "mdat"]);
    b.set(
      Uint8Array.from(type, (c) => c.charCodeAt(0)),
      box.start + 4,
    );
  } else if (op === 2) {
    // ispe's width or height, or a field of an item table.
    const ispe = boxes.filter((x) => x.type === "ispe");
    const target = r.pick(ispe.length && r.next() < 0.6 ? ispe : boxes);
    if (target) {
      const at =
        target.type === "ispe" ? target.body + 4 + 4 * r.int(0, 1) : target.body + 4 * r.int(0, 3);
      put(b, at, 4, extreme(r, 1000, 0xffffffff));
    }
  } else if (op === 3) {
    const tables = boxes.filter((x) =>
      ["iloc", "ipma", "iref", "pitm", "iinf", "hvcC", "av1C"].includes(x.type),
    );
    const t = r.pick(tables.length ? tables : boxes);
    if (t) damage(r, b, t.body, t.end);
  } else if (op === 4) damage(r, b, box.body, box.end);
  else return b.slice(0, r.int(16, b.length));
  return b;
}

export type Format = "jpeg" | "png" | "gif" | "webp" | "heif";

export function formatOf(b: Uint8Array): Format | null {
  if (b[0] === 0xff && b[1] === 0xd8) return "jpeg";
  if (b[0] === 0x89 && b[1] === 0x50) return "png";
  if (ascii(b, 0, 3) === "GIF") return "gif";
  if (ascii(b, 0, 4) === "RIFF") return "webp";
  if (ascii(b, 4, 4) === "ftyp") return "heif";
  return null;
}

/** One to three mutations of `file` by its format's mutator. */
export function mutate(r: Rng, file: Uint8Array): Uint8Array {
  let out = file;
  for (let k = r.int(1, 3); k > 0; k--) {
    const f = formatOf(out);
    if (f === "jpeg") out = mutateJpeg(r, out);
    else if (f === "png") out = mutatePng(r, out);
    else if (f === "gif") out = mutateGif(r, out);
    else if (f === "webp") out = mutateWebp(r, out);
    else if (f === "heif") out = mutateHeif(r, out);
    else break;
  }
  return out;
}
