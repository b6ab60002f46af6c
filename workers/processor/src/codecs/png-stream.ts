import { PNG_MAX_ANCILLARY_BYTES, PNG_MAX_ANCILLARY_CHUNKS, PNG_MAX_CHUNKS } from "../image/limits";
import type { Rgba } from "../image/rgba";
import { RowResizer } from "../image/row-resize";
import type { WorkMeter } from "../image/work";
import { zlibStreamLength } from "./zlib-end";

/**
 * A streaming PNG decoder in TypeScript: the image data is inflated with the platform's
 * DecompressionStream as it is read, scanlines are unfiltered as they arrive (keeping only
 * the previous and the current raw row), and each row is handed on as 8-bit RGBA. Fed to
 * a RowResizer, a PNG goes straight to its preview size and the full-size image never
 * exists, so decoding costs the input plus a few rows plus the output, where
 * @jsquash/png's WASM needed the whole RGBA image and inflated data at once (and its one
 * instance per isolate kept that memory for good).
 *
 * Supported: colour types 0, 2, 3, 4, 6 at every bit depth the format allows. 16-bit
 * samples are reduced to their high byte (what @jsquash/png does: the png crate's
 * STRIP_16), and tRNS colour keys are compared at full depth first. Palette and tRNS
 * alpha; grey/RGB tRNS colour keys become alpha 0. tRNS oddities are read as the png
 * crate reads them (up to 8 bits a key's low byte is compared; a tRNS longer than the
 * palette is ignored), so pixels match @jsquash/png's exactly. Ancillary chunks are
 * ignored (no gamma, no colour profile: as before). An animated PNG decodes to its
 * default image.
 *
 * Interlaced (Adam7) PNGs are decoded here too: passes 1 to 6 only ever touch even rows,
 * so those are kept (as RGBA, half the image), and each odd row from pass 7 completes a
 * pair of rows that is handed on at once. That costs half an RGBA image on top; the
 * caller's budget must allow for it (see `interlacedBytes`).
 *
 * Every damaged file throws PngError with a message saying what is wrong: bad
 * signature, a chunk running past the end before the image data, a missing or bad
 * header, no image data, bad zlib data, a bad filter type, or image data that ends too
 * soon. Lenient where libvips is: no IEND, a file cut off in its last chunk or in its
 * image data's tail (all rows there), bytes after the end of the zlib stream decode, with
 * a warning. Chunk CRCs are not checked (lengths always are); data past the last row is
 * not read.
 */

export class PngError extends Error {
  override name = "PngError";
}

export type PngHeader = {
  width: number;
  height: number;
  bitDepth: number;
  /** 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA. */
  colorType: number;
  interlaced: boolean;
};

/**
 * Receives row y as 8-bit RGBA (width * 4 bytes, 4-byte aligned). Rows come in order,
 * each once; the buffer is reused for the next row, so copy what must be kept.
 */
export type PngRowSink = (rgba: Uint8Array, y: number) => void;

export type PngStats = {
  header: PngHeader;
  /** What the decode forgave (a truncated last chunk, no IEND), for the log. */
  warnings: string[];
  /** Peak bytes of the decoder's own buffers (rows, interlace store, inflated chunks). */
  workingBytes: number;
};

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Compressed data goes to the inflater in slices of this size, bounding what one write
 * can inflate to (deflate expands at most ~1032x: 16 MB here) before it is read. */
const FEED_SLICE = 16 * 1024;
const CHANNELS = [1, 0, 3, 1, 2, 0, 4];
const ALLOWED_DEPTHS: Record<number, number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};
// Adam7 passes: x0, y0, dx, dy.
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;
/** One RGBA pixel as a 32-bit word in platform byte order. */
const pack = (r: number, g: number, b: number, a: number): number =>
  LITTLE_ENDIAN
    ? ((a << 24) | (b << 16) | (g << 8) | r) >>> 0
    : ((r << 24) | (g << 16) | (b << 8) | a) >>> 0;

const u32 = (b: Uint8Array, i: number): number =>
  (((b[i] ?? 0) << 24) | ((b[i + 1] ?? 0) << 16) | ((b[i + 2] ?? 0) << 8) | (b[i + 3] ?? 0)) >>> 0;
const u16 = (b: Uint8Array, i: number): number => ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);

type Parsed = {
  header: PngHeader;
  palette: Uint8Array | null;
  trns: Uint8Array | null;
  /** Offset of the first IDAT chunk; the image data is it and the IDATs right after it. */
  firstIdat: number;
  /** What was forgiven, as libvips forgives it (see parseChunks). */
  warnings: string[];
};

/** A PNG over one of the chunk limits (`image/limits.ts`): refused, not damaged. */
export class PngLimitError extends PngError {
  override name = "PngLimitError";
}

/**
 * Counts one chunk against the limits; throws PngLimitError past them. The probe and the
 * decoder both walk every chunk through it, so the decoder refuses exactly what the probe
 * would have.
 */
export function countChunk(
  counts: { chunks: number; ancillary: number },
  type: string,
  length: number,
): void {
  counts.chunks++;
  if (counts.chunks > PNG_MAX_CHUNKS) {
    throw new PngLimitError(`more than ${PNG_MAX_CHUNKS} chunks`);
  }
  if (type.charCodeAt(0) < 0x61) return; // critical (upper-case first letter)
  counts.ancillary++;
  if (counts.ancillary > PNG_MAX_ANCILLARY_CHUNKS) {
    throw new PngLimitError(`more than ${PNG_MAX_ANCILLARY_CHUNKS} ancillary chunks`);
  }
  if (length > PNG_MAX_ANCILLARY_BYTES) {
    throw new PngLimitError(
      `an ancillary ${JSON.stringify(type)} chunk of ${length} bytes (at most ${PNG_MAX_ANCILLARY_BYTES})`,
    );
  }
}

const chunkType = (bytes: Uint8Array, pos: number): string =>
  String.fromCharCode(
    bytes[pos + 4] ?? 0,
    bytes[pos + 5] ?? 0,
    bytes[pos + 6] ?? 0,
    bytes[pos + 7] ?? 0,
  );

/** What the probe needs to know of a PNG's chunks, from their headers alone. */
export type PngLayout = {
  /** A tRNS chunk before the image data (alpha from a colour key or palette). */
  transparency: boolean;
  /** An acTL chunk: an animated PNG. */
  animated: boolean;
  /** The walk reached the image data (false when `bytes` is a prefix that ends first). */
  sawImageData: boolean;
};

/**
 * Walks every chunk header of `bytes` (no data is read or copied) against the chunk
 * limits. A chunk running past the end ends the walk: `bytes` may be a prefix, and a
 * truncated file is the decoder's to report.
 */
export function pngLayout(bytes: Uint8Array, work?: WorkMeter): PngLayout {
  const counts = { chunks: 0, ancillary: 0 };
  const layout: PngLayout = { transparency: false, animated: false, sawImageData: false };
  for (let pos = 8; pos < bytes.length; ) {
    if (pos + 8 > bytes.length) break;
    work?.charge(1, "a PNG chunk");
    const len = u32(bytes, pos);
    const type = chunkType(bytes, pos);
    countChunk(counts, type, len);
    if (type === "acTL") layout.animated = true;
    if (type === "tRNS" && !layout.sawImageData) layout.transparency = true;
    if (type === "IDAT") layout.sawImageData = true;
    if (type === "IEND") break;
    pos += 12 + len;
  }
  return layout;
}

/**
 * The eXIf chunk's data (a TIFF block) wherever it lies, or null. Headers only, one pass;
 * a chunk running past the end ends the walk.
 */
export function pngExif(bytes: Uint8Array): Uint8Array | null {
  for (let pos = 8; pos + 12 <= bytes.length; ) {
    const len = u32(bytes, pos);
    const type = chunkType(bytes, pos);
    if (type === "IEND" || pos + 12 + len > bytes.length) return null;
    if (type === "eXIf") return bytes.subarray(pos + 8, pos + 8 + len);
    pos += 12 + len;
  }
  return null;
}

/** Walks the chunk structure (headers only, no copies) and validates what it needs. */
function parseChunks(bytes: Uint8Array): Parsed {
  if (bytes.length < 8 || SIGNATURE.some((v, i) => bytes[i] !== v)) {
    throw new PngError("not a PNG (bad signature)");
  }
  let header: PngHeader | null = null;
  let palette: Uint8Array | null = null;
  let trns: Uint8Array | null = null;
  const counts = { chunks: 0, ancillary: 0 };
  let firstIdat = -1;
  const warnings: string[] = [];
  let pos = 8;
  while (pos < bytes.length) {
    // A file cut short after its image data began (no IEND, a last chunk cut off, an IDAT
    // whose end or CRC is missing) decodes as far as its data goes, as libpng/libvips do;
    // rows that are missing still fail the decode below.
    if (pos + 12 > bytes.length) {
      if (firstIdat < 0) throw new PngError("truncated (a chunk header is cut off)");
      warnings.push("the file ends inside a chunk after the image data");
      break;
    }
    const len = u32(bytes, pos);
    const type = chunkType(bytes, pos);
    if (len > 0x7fffffff || pos + 12 + len > bytes.length) {
      const idat = type === "IDAT";
      if (!idat && firstIdat < 0)
        throw new PngError(`truncated (the ${JSON.stringify(type)} chunk runs past the end)`);
      warnings.push(`truncated (the ${JSON.stringify(type)} chunk runs past the end)`);
      if (idat && firstIdat < 0) firstIdat = pos;
      break;
    }
    if (!/^[A-Za-z]{4}$/.test(type)) throw new PngError("corrupt chunk type");
    countChunk(counts, type, len);
    const data = bytes.subarray(pos + 8, pos + 8 + len);
    const at = pos;
    pos += 12 + len;
    if (header === null && type !== "IHDR") throw new PngError("the first chunk is not IHDR");
    switch (type) {
      case "IHDR": {
        if (header !== null) throw new PngError("more than one IHDR");
        header = parseHeader(data);
        break;
      }
      case "PLTE":
        if (len === 0 || len % 3 !== 0 || len > 768) throw new PngError(`bad PLTE length ${len}`);
        if (firstIdat >= 0) throw new PngError("PLTE after the image data");
        palette = data;
        break;
      case "tRNS":
        if (firstIdat < 0) trns = data;
        break;
      case "IDAT":
        // IDATs must be consecutive; a stray one after others is ignored (the image data
        // is complete, or found short, by then).
        if (firstIdat < 0) firstIdat = at;
        break;
      case "IEND":
        pos = bytes.length;
        break;
      default:
        // Critical chunks (upper-case first letter) the decoder does not know change how
        // the image must be read: refuse rather than guess.
        if (type.charCodeAt(0) < 0x61) throw new PngError(`unknown critical chunk ${type}`);
    }
  }
  if (header === null) throw new PngError("no IHDR");
  if (firstIdat < 0) throw new PngError("no image data (IDAT missing)");
  if (header.colorType === 3 && palette === null) throw new PngError("palette image without PLTE");
  return { header, palette, trns, firstIdat, warnings };
}

function parseHeader(d: Uint8Array): PngHeader {
  if (d.length !== 13) throw new PngError(`bad IHDR length ${d.length}`);
  const width = u32(d, 0);
  const height = u32(d, 4);
  const bitDepth = d[8] ?? 0;
  const colorType = d[9] ?? 0;
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) {
    throw new PngError(`impossible dimensions ${width}x${height}`);
  }
  const depths = ALLOWED_DEPTHS[colorType];
  if (!depths) throw new PngError(`unknown colour type ${colorType}`);
  if (!depths.includes(bitDepth)) {
    throw new PngError(`bit depth ${bitDepth} is not allowed for colour type ${colorType}`);
  }
  if (d[10] !== 0) throw new PngError(`unknown compression method ${d[10]}`);
  if (d[11] !== 0) throw new PngError(`unknown filter method ${d[11]}`);
  if (d[12] !== 0 && d[12] !== 1) throw new PngError(`unknown interlace method ${d[12]}`);
  return { width, height, bitDepth, colorType, interlaced: d[12] === 1 };
}

/** Bytes of the even-row store an interlaced image of this size needs. */
export function interlacedBytes(width: number, height: number): number {
  return Math.ceil(height / 2) * width * 4;
}

/** Reverses one scanline's filter in place; `prev` is the previous raw row (zeros first). */
function unfilter(filter: number, cur: Uint8Array, prev: Uint8Array, bpp: number, y: number): void {
  const n = cur.length;
  switch (filter) {
    case 0:
      return;
    case 1:
      for (let i = bpp; i < n; i++) cur[i] = (cur[i] ?? 0) + (cur[i - bpp] ?? 0);
      return;
    case 2:
      for (let i = 0; i < n; i++) cur[i] = (cur[i] ?? 0) + (prev[i] ?? 0);
      return;
    case 3:
      for (let i = 0; i < bpp; i++) cur[i] = (cur[i] ?? 0) + ((prev[i] ?? 0) >> 1);
      for (let i = bpp; i < n; i++)
        cur[i] = (cur[i] ?? 0) + (((cur[i - bpp] ?? 0) + (prev[i] ?? 0)) >> 1);
      return;
    case 4:
      for (let i = 0; i < bpp; i++) cur[i] = (cur[i] ?? 0) + (prev[i] ?? 0);
      for (let i = bpp; i < n; i++) {
        const a = cur[i - bpp] ?? 0;
        const b = prev[i] ?? 0;
        const c = prev[i - bpp] ?? 0;
        const pa = Math.abs(b - c);
        const pb = Math.abs(a - c);
        const pc = Math.abs(a + b - c - c);
        cur[i] = (cur[i] ?? 0) + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      }
      return;
    default:
      throw new PngError(`bad filter type ${filter} on row ${y}`);
  }
}

/** Turns one unfiltered scanline of `width` pixels into RGBA words. */
type Converter = (raw: Uint8Array, out: Uint32Array, width: number) => void;

function makeConverter(p: Parsed): Converter {
  const { bitDepth: depth, colorType: ct } = p.header;
  const trns = p.trns;
  if (ct === 0 || ct === 3) {
    // Grey and palette samples (any depth up to 8) index a lookup table of RGBA words.
    const lut = new Uint32Array(256);
    if (ct === 3) {
      const pal = p.palette ?? new Uint8Array(0);
      // Indices past the palette decode as opaque black, and a tRNS longer than the
      // palette is ignored, as the png crate (@jsquash/png) has it.
      const alphas = trns && trns.length <= pal.length / 3 ? trns : null;
      lut.fill(pack(0, 0, 0, 255));
      for (let i = 0; i * 3 < pal.length; i++) {
        const alpha = alphas && i < alphas.length ? (alphas[i] ?? 255) : 255;
        lut[i] = pack(pal[i * 3] ?? 0, pal[i * 3 + 1] ?? 0, pal[i * 3 + 2] ?? 0, alpha);
      }
    } else if (depth <= 8) {
      const max = (1 << depth) - 1;
      // Up to 8 bits the key's low byte is compared (the png crate's reading).
      const key = trns && trns.length >= 2 ? (trns[1] ?? 0) : -1;
      for (let v = 0; v <= max; v++) {
        const g = Math.round((v * 255) / max);
        lut[v] = pack(g, g, g, v === key ? 0 : 255);
      }
    }
    if (depth === 8) {
      return (raw, out, width) => {
        for (let x = 0; x < width; x++) out[x] = lut[raw[x] ?? 0] ?? 0;
      };
    }
    if (depth < 8) {
      const perByte = 8 / depth;
      const mask = (1 << depth) - 1;
      return (raw, out, width) => {
        for (let x = 0; x < width; x++) {
          const byte = raw[(x / perByte) | 0] ?? 0;
          const shift = 8 - depth * ((x % perByte) + 1);
          out[x] = lut[(byte >> shift) & mask] ?? 0;
        }
      };
    }
    // 16-bit grey: the high byte, the key compared at full depth.
    const key = trns && trns.length >= 2 ? u16(trns, 0) : -1;
    return (raw, out, width) => {
      for (let x = 0, i = 0; x < width; x++, i += 2) {
        const hi = raw[i] ?? 0;
        out[x] = pack(hi, hi, hi, (hi << 8) + (raw[i + 1] ?? 0) === key ? 0 : 255);
      }
    };
  }
  if (ct === 2) {
    const keyed = trns !== null && trns.length >= 6;
    const kr = keyed ? u16(trns, 0) : -1;
    const kg = keyed ? u16(trns, 2) : -1;
    const kb = keyed ? u16(trns, 4) : -1;
    if (depth === 8) {
      // At 8 bits the key's low bytes are compared (the png crate's reading).
      const [r8, g8, b8] = [kr & 255, kg & 255, kb & 255];
      return (raw, out, width) => {
        for (let x = 0, i = 0; x < width; x++, i += 3) {
          const r = raw[i] ?? 0;
          const g = raw[i + 1] ?? 0;
          const b = raw[i + 2] ?? 0;
          out[x] = pack(r, g, b, keyed && r === r8 && g === g8 && b === b8 ? 0 : 255);
        }
      };
    }
    return (raw, out, width) => {
      for (let x = 0, i = 0; x < width; x++, i += 6) {
        const r = raw[i] ?? 0;
        const g = raw[i + 2] ?? 0;
        const b = raw[i + 4] ?? 0;
        const hit =
          keyed &&
          (r << 8) + (raw[i + 1] ?? 0) === kr &&
          (g << 8) + (raw[i + 3] ?? 0) === kg &&
          (b << 8) + (raw[i + 5] ?? 0) === kb;
        out[x] = pack(r, g, b, hit ? 0 : 255);
      }
    };
  }
  if (ct === 4) {
    const step = depth === 8 ? 2 : 4;
    const alphaAt = depth === 8 ? 1 : 2;
    return (raw, out, width) => {
      for (let x = 0, i = 0; x < width; x++, i += step) {
        const g = raw[i] ?? 0;
        out[x] = pack(g, g, g, raw[i + alphaAt] ?? 0);
      }
    };
  }
  // ct 6
  if (depth === 8) {
    return (raw, out, width) => {
      new Uint8Array(out.buffer, out.byteOffset, width * 4).set(raw.subarray(0, width * 4));
    };
  }
  return (raw, out, width) => {
    for (let x = 0, i = 0; x < width; x++, i += 8) {
      out[x] = pack(raw[i] ?? 0, raw[i + 2] ?? 0, raw[i + 4] ?? 0, raw[i + 6] ?? 0);
    }
  };
}

/** Bytes of one scanline (without its filter byte) of `width` pixels. */
function rowBytes(h: PngHeader, width: number): number {
  return Math.ceil((width * (CHANNELS[h.colorType] ?? 0) * h.bitDepth) / 8);
}

/**
 * Decodes a PNG row by row. `start` is called with the header (before any pixel work, so
 * the caller can size its buffers or refuse) and returns the row sink; once more, for a
 * fresh sink, when the decode starts over (bytes after the zlib stream, see below).
 */
export async function decodePngRows(
  bytes: Uint8Array,
  start: (header: PngHeader) => PngRowSink,
  /** Image data bytes to inflate (the zlib stream's length, when data follows it). */
  feedBytes = Number.POSITIVE_INFINITY,
): Promise<PngStats> {
  const parsed = parseChunks(bytes);
  const h = parsed.header;
  const { width, height } = h;
  const sink = start(h);
  const channels = CHANNELS[h.colorType] ?? 0;
  const bpp = Math.max(1, (channels * h.bitDepth) >> 3);
  const stride = rowBytes(h, width);
  if (stride > 0x10000000) throw new PngError(`rows of ${stride} bytes are too long`);
  const convert = makeConverter(parsed);

  // Raw rows, each [filter byte | data], the data 4-byte aligned (offset 4 in a buffer).
  const rawBuf = (): Uint8Array => new Uint8Array(new ArrayBuffer(stride + 4), 3, stride + 1);
  let cur = rawBuf();
  let prev = rawBuf();
  const rgba = new Uint8Array(width * 4);
  const rgbaWords = new Uint32Array(rgba.buffer);
  // Interlaced: the even rows (all of passes 1-6) until pass 7 completes them.
  const even = h.interlaced ? new Uint8Array(interlacedBytes(width, height)) : null;
  // A pass row, converted, before it is scattered into `even`.
  const passRow = h.interlaced ? new Uint32Array(Math.ceil(width / 2)) : null;
  let workingBytes =
    cur.buffer.byteLength * 2 +
    rgba.byteLength +
    (even?.byteLength ?? 0) +
    (passRow?.byteLength ?? 0);
  const baseBytes = workingBytes;

  // Where the decode is: pass (0 for non-interlaced), row within the pass, its geometry.
  let pass = h.interlaced ? -1 : 0;
  let passW = width;
  let passH = height;
  let passRowLen = stride + 1;
  let passRowIndex = 0;
  let emitted = 0;
  let fill = 0;

  const nextPass = (): boolean => {
    // Moves to the next non-empty Adam7 pass; false when none is left.
    for (pass++; pass < 7; pass++) {
      const [x0, y0, dx, dy] = ADAM7[pass] ?? [0, 0, 1, 1];
      passW = Math.ceil((width - x0) / dx);
      passH = Math.ceil((height - y0) / dy);
      if (passW > 0 && passH > 0) {
        passRowLen = rowBytes(h, passW) + 1;
        passRowIndex = 0;
        prev.fill(0);
        return true;
      }
    }
    return false;
  };
  if (h.interlaced && !nextPass()) throw new PngError("empty interlaced image");

  const emitRow = (row: Uint8Array) => {
    sink(row, emitted);
    emitted++;
  };
  const emitEven = (y: number) => {
    if (!even) return;
    const o = (y >> 1) * width * 4;
    emitRow(even.subarray(o, o + width * 4));
  };

  /** One complete raw scanline in `cur`: unfilter, convert, hand on. True when done. */
  const finishRow = (): boolean => {
    const data = cur.subarray(1, passRowLen);
    unfilter(cur[0] ?? 0, data, prev.subarray(1, passRowLen), bpp, passRowIndex);
    if (!h.interlaced) {
      convert(data, rgbaWords, width);
      emitRow(rgba);
    } else {
      const [x0, y0, dx, dy] = ADAM7[pass] ?? [0, 0, 1, 1];
      const y = y0 + passRowIndex * dy;
      if (pass === 6) {
        // A full odd row: its even row above is complete now.
        convert(data, rgbaWords, width);
        emitEven(y - 1);
        emitRow(rgba);
      } else if (even && passRow) {
        convert(data, passRow, passW);
        const words = new Uint32Array(even.buffer, (y >> 1) * width * 4, width);
        for (let i = 0, x = x0; i < passW; i++, x += dx) words[x] = passRow[i] ?? 0;
      }
    }
    passRowIndex++;
    [cur, prev] = [prev, cur];
    if (passRowIndex < passH) return false;
    if (!h.interlaced) return true;
    if (nextPass()) return false;
    // Pass 7 covers every odd row; an odd height leaves the last (even) row.
    if (emitted < height) emitEven(height - 1);
    return true;
  };

  const ds = new DecompressionStream("deflate");
  const writer = ds.writable.getWriter();
  const reader = ds.readable.getReader();
  const feeding = (async () => {
    let left = feedBytes;
    for (const data of imageData(bytes, parsed.firstIdat)) {
      const piece = data.subarray(0, Math.min(data.length, left));
      left -= piece.length;
      for (let o = 0; o < piece.length; o += FEED_SLICE) {
        await writer.write(piece.subarray(o, o + FEED_SLICE));
      }
      if (left <= 0) break;
    }
    await writer.close();
  })();
  // Its failures surface through the reader; after an early stop they are expected.
  feeding.catch(() => {});

  let done = false;
  try {
    while (!done) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        // Bytes after the end of the zlib stream: the platform's inflater refuses them
        // (and drops what it had); libvips stops at the end. Found, the stream is fed
        // again exactly, once.
        if (feedBytes === Number.POSITIVE_INFINITY) {
          const length = zlibStreamLength(imageData(bytes, parsed.firstIdat));
          let total = 0;
          for (const data of imageData(bytes, parsed.firstIdat)) total += data.length;
          if (length !== null && length < total) {
            const again = await decodePngRows(bytes, start, length);
            const trailing = `${total - length} bytes after the end of the compressed image data`;
            return { ...again, warnings: [...again.warnings, trailing] };
          }
        }
        // A truncated file's zlib stream ends early: say so rather than blame the data.
        if (parsed.warnings.length > 0) throw new PngError(truncatedAt(emitted, height));
        throw new PngError(`bad compressed image data (${String(err).slice(0, 100)})`);
      }
      if (chunk.done) break;
      const value = chunk.value;
      workingBytes = Math.max(workingBytes, baseBytes + value.byteLength);
      let i = 0;
      while (i < value.length) {
        const n = Math.min(passRowLen - fill, value.length - i);
        cur.set(value.subarray(i, i + n), fill);
        fill += n;
        i += n;
        if (fill === passRowLen) {
          fill = 0;
          if (finishRow()) {
            done = true;
            break;
          }
        }
      }
    }
  } finally {
    if (!done) writer.abort().catch(() => {});
    reader.cancel().catch(() => {});
  }
  if (!done || emitted !== height) {
    throw new PngError(
      parsed.warnings.length > 0
        ? truncatedAt(emitted, height)
        : `the image data ends after ${emitted} of ${height} rows`,
    );
  }
  return { header: h, workingBytes, warnings: parsed.warnings };
}

/**
 * The data of the consecutive IDATs from the first (parseChunks checked their lengths; the
 * last of a truncated file gives what it has): walked, not listed, so the chunk count
 * costs no memory.
 */
function* imageData(bytes: Uint8Array, firstIdat: number): Generator<Uint8Array> {
  for (let pos = firstIdat; pos + 8 <= bytes.length && chunkType(bytes, pos) === "IDAT"; ) {
    const e = Math.min(bytes.length, pos + 8 + u32(bytes, pos));
    yield bytes.subarray(pos + 8, e);
    pos = e + 4;
  }
}

const truncatedAt = (rows: number, height: number): string =>
  `truncated (the image data ends after ${rows} of ${height} rows)`;

/**
 * Decodes a PNG straight to the size `fit` picks from its dimensions (never larger), by
 * feeding its rows to a RowResizer: the full-size image never exists. Equal sizes give
 * the decoded pixels as they are. `peakBytes` counts the decoder's buffers and the
 * resizer's (output included), not the input.
 */
export async function decodePngFit(
  bytes: Uint8Array,
  fit: (width: number, height: number) => { width: number; height: number },
): Promise<{ value: Rgba; peakBytes: number; header: PngHeader; warnings: string[] }> {
  let resizer: RowResizer | null = null;
  const stats = await decodePngRows(bytes, (h) => {
    const size = fit(h.width, h.height);
    const r = new RowResizer(h.width, h.height, size.width, size.height);
    resizer = r;
    return (row) => r.push(row);
  });
  const r = resizer as RowResizer | null;
  if (!r) throw new PngError("no rows");
  return {
    value: r.finish(),
    peakBytes: stats.workingBytes + r.bytes,
    header: stats.header,
    warnings: stats.warnings,
  };
}

/** Decodes a PNG at full size (tests, small images). */
export async function decodePng(bytes: Uint8Array): Promise<Rgba> {
  return (await decodePngFit(bytes, (width, height) => ({ width, height }))).value;
}
