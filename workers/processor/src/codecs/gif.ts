/**
 * GIF (87a/89a): the first frame as RGBA on the logical screen, and whether more frames
 * follow. A GIF is a palette image coded with LZW (at most 12-bit codes), so the decoder is
 * small; every read is bounds-checked, the output is sized from the logical screen (checked
 * against the pixel cap before this runs), nothing is ever sized from the frame (its
 * indices go through one row of at most 65,535 bytes), and LZW stops at the last row that
 * can show, so a hostile file costs at most one pass over its bytes.
 *
 * A frame that extends past the screen is clipped to it: only its on-screen part is drawn.
 * Decoders differ here (Wuffs' test data lists the policies: reject, clip, or grow the
 * screen to the first frame); libvips's gifload.c draws nothing of an out-of-bounds frame
 * ("giflib does not check that the Left / Top / Width / Height for this Image is inside
 * the canvas. We could clip against the canvas, but for now, just ignore out of bounds
 * frames"). Clipping shows what fits and never sizes anything from the frame; growing the
 * screen would size the output from the frame instead. A first frame whose decode would
 * walk far more pixels than the screen holds (GIF_MAX_OFFSCREEN_PIXELS) is refused: no
 * encoder writes one, and decoding it would cost time for pixels nobody sees.
 */
import type { Rgba } from "../image/rgba";
import type { WorkMeter } from "../image/work";

/**
 * Pixels beyond twice the screen's area that the first frame's decode may walk (its rows
 * up to the last one on the screen, each at the frame's width): a frame a little larger
 * than its screen (a sloppy encoder) is clipped, and so is 8000x8000 on a 1x1 screen (one
 * row of 8,000 is walked); 65535x65535 on a 1x65535 screen (4.3 G pixels) is refused.
 */
export const GIF_MAX_OFFSCREEN_PIXELS = 1 << 20;

export class GifError extends Error {
  override readonly name = "GifError";
}

export type GifHeader = { width: number; height: number; frames: number; hasAlpha: boolean };

const ascii = (b: Uint8Array, i: number, n: number) => String.fromCharCode(...b.subarray(i, i + n));
const u16le = (b: Uint8Array, i: number) => (b[i] ?? 0) | ((b[i + 1] ?? 0) << 8);

type Frame = {
  left: number;
  top: number;
  width: number;
  height: number;
  interlaced: boolean;
  palette: Uint8Array;
  transparent: number;
  minCodeSize: number;
  /** Offset of the first data sub-block. */
  data: number;
};

/** The logical screen's size from the first 10 bytes. */
export function gifScreen(b: Uint8Array): { width: number; height: number } {
  if (b.length < 13 || !/^GIF8[79]a$/.test(ascii(b, 0, 6))) throw new GifError("not a GIF");
  const width = u16le(b, 6);
  const height = u16le(b, 8);
  if (width === 0 || height === 0) throw new GifError("the GIF's screen is 0 pixels wide or high");
  return { width, height };
}

/** Walks the blocks: the first frame, and how many frames there are (data is skipped). */
function walk(
  b: Uint8Array,
  firstOnly: boolean,
  work?: WorkMeter,
): { header: GifHeader; first: Frame | null } {
  const { width, height } = gifScreen(b);
  const flags = b[10] ?? 0;
  let p = 13;
  let globalPalette: Uint8Array = new Uint8Array(0);
  if (flags & 0x80) {
    const n = 3 * (1 << ((flags & 7) + 1));
    if (p + n > b.length) throw new GifError("the GIF is truncated (colour table)");
    globalPalette = b.subarray(p, p + n);
    p += n;
  }
  const skipSubBlocks = (at: number): number => {
    let q = at;
    for (;;) {
      if (q >= b.length) throw new GifError("the GIF is truncated (data block)");
      const n = b[q] ?? 0;
      work?.charge(1, "a GIF data sub-block");
      q += 1 + n;
      if (n === 0) return q;
    }
  };
  let frames = 0;
  let first: Frame | null = null;
  let transparent = -1;
  let hasAlpha = false;
  while (p < b.length) {
    const tag = b[p];
    if (tag === 0x3b) break; // trailer
    work?.charge(1, "a GIF block");
    if (tag === 0x21) {
      const label = b[p + 1];
      // Graphic control extension: the transparency index of the next frame.
      if (label === 0xf9 && (b[p + 2] ?? 0) >= 4) {
        transparent = (b[p + 3] ?? 0) & 1 ? (b[p + 6] ?? 0) : -1;
        if (transparent >= 0) hasAlpha = true;
      }
      p = skipSubBlocks(p + 2);
      continue;
    }
    if (tag !== 0x2c)
      throw new GifError(`the GIF has an unknown block (0x${(tag ?? 0).toString(16)})`);
    if (p + 10 > b.length) throw new GifError("the GIF is truncated (image descriptor)");
    const f = b[p + 9] ?? 0;
    let q = p + 10;
    let palette = globalPalette;
    if (f & 0x80) {
      const n = 3 * (1 << ((f & 7) + 1));
      if (q + n > b.length) throw new GifError("the GIF is truncated (local colour table)");
      palette = b.subarray(q, q + n);
      q += n;
    }
    if (q >= b.length) throw new GifError("the GIF is truncated (image data)");
    frames += 1;
    if (!first) {
      first = {
        left: u16le(b, p + 1),
        top: u16le(b, p + 3),
        width: u16le(b, p + 5),
        height: u16le(b, p + 7),
        interlaced: (f & 0x40) !== 0,
        palette,
        transparent,
        minCodeSize: b[q] ?? 0,
        data: q + 1,
      };
    }
    transparent = -1;
    p = skipSubBlocks(q + 1);
    if (firstOnly) break;
  }
  if (!first) throw new GifError("the GIF has no image");
  const walked = rowsToDecode(first, height) * first.width;
  if (walked > 2 * width * height + GIF_MAX_OFFSCREEN_PIXELS) {
    throw new GifError(
      `its first frame (${first.width}x${first.height} at ${first.left},${first.top}) is far larger than its ${width}x${height} screen`,
    );
  }
  // A first frame that does not cover the screen leaves the rest transparent.
  if (first.left !== 0 || first.top !== 0 || first.width < width || first.height < height)
    hasAlpha = true;
  return { header: { width, height, frames, hasAlpha }, first };
}

/** Interlaced rows come in four passes: every 8th from 0, every 8th from 4, every 4th from 2, every 2nd from 1. */
const PASSES = [
  [0, 8],
  [4, 8],
  [2, 4],
  [1, 2],
] as const;

/** The frame row (0-based) that the `r`-th coded row fills. */
function frameRow(f: Frame, r: number): number {
  if (!f.interlaced) return r;
  let k = r;
  for (const [start, step] of PASSES) {
    const n = start < f.height ? Math.ceil((f.height - start) / step) : 0;
    if (k < n) return start + k * step;
    k -= n;
  }
  return r;
}

/**
 * With no colour table at all, libvips (libnsgif) and browsers draw index 0 black and 1
 * white; other indices stay transparent.
 */
const DEFAULT_PALETTE = new Uint8Array([0, 0, 0, 255, 255, 255]);

/**
 * How many coded rows must be decoded before every on-screen row is drawn: none when the
 * frame starts past the screen; up to the last on-screen row (in the interlaced order,
 * the last coded row that lands on the screen).
 */
function rowsToDecode(f: Frame, screenHeight: number): number {
  const visible = Math.min(f.height, Math.max(0, screenHeight - f.top));
  if (visible === 0 || f.width === 0) return 0;
  if (!f.interlaced) return visible;
  let last = 0;
  let r = 0;
  for (const [start, step] of PASSES) {
    for (let y = start; y < f.height; y += step, r++) if (y < visible) last = r + 1;
  }
  return last;
}

/**
 * Screen size, frame count and transparency, from the blocks alone; refuses a first frame
 * far larger than the screen. `work`: charged one unit per block and data sub-block.
 */
export function readGifHeader(b: Uint8Array, work?: WorkMeter): GifHeader {
  return walk(b, false, work).header;
}

/**
 * The first frame on a transparent logical screen, clipped to it. Throws GifError.
 * Lenient where libvips (libnsgif) is, noting it in `warnings`: no colour table
 * (DEFAULT_PALETTE), and an LZW minimum code size over the spec's 8 that 12-bit codes
 * still hold (9..11). `scratchBytes`: what the decode held besides the output (one row of
 * indices and the LZW tables), for the memory meter.
 */
export function decodeGifFirstFrame(
  b: Uint8Array,
  warnings: string[] = [],
): Rgba & { scratchBytes: number } {
  const { header, first: f } = walk(b, true);
  if (!f) throw new GifError("the GIF has no image");
  const { width, height } = header;
  const out = new Uint8ClampedArray(width * height * 4);
  if (f.minCodeSize < 2 || f.minCodeSize > 11)
    throw new GifError("the GIF's LZW code size is invalid");
  if (f.minCodeSize > 8)
    warnings.push(`an LZW minimum code size of ${f.minCodeSize} (the spec allows 2 to 8)`);
  if (f.palette.length === 0) {
    warnings.push("no colour table (drawn black and white, as browsers do)");
    f.palette = DEFAULT_PALETTE;
  }
  const rows = f.left < width ? rowsToDecode(f, height) : 0;
  const colours = f.palette.length / 3;
  const draw = (r: number, indices: Uint8Array) => {
    const sy = f.top + frameRow(f, r);
    if (sy >= height) return;
    const end = Math.min(indices.length, width - f.left);
    for (let x = 0; x < end; x++) {
      const i = indices[x] ?? 0;
      if (i === f.transparent || i >= colours) continue;
      const o = (sy * width + f.left + x) * 4;
      out[o] = f.palette[i * 3] ?? 0;
      out[o + 1] = f.palette[i * 3 + 1] ?? 0;
      out[o + 2] = f.palette[i * 3 + 2] ?? 0;
      out[o + 3] = 255;
    }
  };
  if (rows === 0) return { width, height, data: out, scratchBytes: 0 };
  const { held, done } = lzw(b, f.data, f.minCodeSize, f.width, rows, draw);
  // Data that ends early leaves index 0 in the rest of the frame, as a zero-filled index
  // buffer did (browsers show partial GIFs too); only the transparent index is see-through.
  const zeros = new Uint8Array(f.width);
  for (let r = done; r < rows; r++) draw(r, zeros);
  const scratch = held + (done < rows ? f.width : 0);
  return { width, height, data: out, scratchBytes: scratch };
}

/** Bytes of the LZW tables below. */
const LZW_TABLE_BYTES = 4096 * 2 + 4096 + 4096 + 4097;

/**
 * LZW-decodes the sub-blocks at `at` into rows of `width` palette indices, handing each
 * full row to `onRow` (the row buffer is reused; a last row cut short by the end of the
 * data is completed with index 0), and stops after `rows` rows. Returns the bytes it held
 * (the row and the tables) and the rows it handed over.
 */
function lzw(
  b: Uint8Array,
  at: number,
  minCodeSize: number,
  width: number,
  rows: number,
  onRow: (r: number, indices: Uint8Array) => void,
): { held: number; done: number } {
  const row = new Uint8Array(width);
  const held = width + LZW_TABLE_BYTES;
  let x = 0;
  let r = 0;
  const put = (v: number) => {
    row[x++] = v;
    if (x === width) {
      onRow(r++, row);
      x = 0;
    }
  };
  const clear = 1 << minCodeSize;
  const end = clear + 1;
  // The dictionary as prefix links: entry k = entry prefix[k] followed by suffix[k].
  const prefix = new Int16Array(4096);
  const suffix = new Uint8Array(4096);
  const first = new Uint8Array(4096);
  const stack = new Uint8Array(4097);
  for (let k = 0; k < clear; k++) {
    suffix[k] = k;
    first[k] = k;
  }
  let size = minCodeSize + 1;
  let next = end + 1;
  let prev = -1;
  let bits = 0;
  let acc = 0;
  let p = at;
  let left = 0; // bytes left in the current sub-block
  while (r < rows) {
    while (bits < size) {
      if (left === 0) {
        left = b[p++] ?? 0;
        if (left === 0 || p > b.length) {
          // Data ran out: what is missing stays transparent (browsers show partial GIFs too).
          if (x > 0) onRow(r++, row.fill(0, x));
          return { held, done: r };
        }
      }
      acc |= (b[p++] ?? 0) << bits;
      bits += 8;
      left -= 1;
    }
    const code = acc & ((1 << size) - 1);
    acc >>>= size;
    bits -= size;
    if (code === clear) {
      size = minCodeSize + 1;
      next = end + 1;
      prev = -1;
      continue;
    }
    if (code === end) break;
    let k: number;
    let sp = 0;
    if (prev === -1) {
      if (code >= clear) throw new GifError("the GIF's image data is corrupt");
      put(code);
      prev = code;
      continue;
    }
    if (code < next) k = code;
    else if (code === next) {
      stack[sp++] = first[prev] ?? 0;
      k = prev;
    } else throw new GifError("the GIF's image data is corrupt");
    const head = first[k] ?? 0;
    while (k >= clear) {
      stack[sp++] = suffix[k] ?? 0;
      k = prefix[k] ?? 0;
    }
    stack[sp++] = k;
    while (sp > 0 && r < rows) put(stack[--sp] ?? 0);
    if (next < 4096) {
      prefix[next] = prev;
      suffix[next] = head;
      first[next] = first[prev] ?? 0;
      next += 1;
      if (next === 1 << size && size < 12) size += 1;
    }
    prev = code;
  }
  if (x > 0 && r < rows) onRow(r++, row.fill(0, x));
  return { held, done: r };
}
