import type { HeifProbe } from "../../image/probe-heif";
import { resizeTwinBytes } from "../../image/row-resize";
import { av1cFormat, declaredFormat } from "./format";
import type { HeifImageItem } from "./types";

const MB = 1024 * 1024;

/**
 * The images a file draws, each held in its band slots while its rows are drawn: an
 * overlay's layers and their alpha planes (all at once: the worst case), or the primary
 * and its alpha.
 */
function drawnImages(h: HeifProbe): HeifImageItem[] {
  const p = h.heif.primary;
  if (p.overlay) return p.overlay.layers.flatMap((l) => (l.alpha ? [l.image, l.alpha] : [l.image]));
  return h.heif.alpha ? [p, h.heif.alpha] : [p];
}

/**
 * libde265's per-pixel decoding metadata of one picture (image.cc, alloc_image): per 4x4
 * block a PBMotion (12 bytes), two intra modes, a transform and a deblocking byte
 * (16 bytes / 16 pixels), per 8x8 coding block 3 bytes: 1.05 bytes per pixel. Measured
 * with `wasm/hevc/bench-notes/measure.ts` on heif-enc photos, the decoder holds up to
 * ~0.18 bytes per pixel more at 48 MP (per-CTB locks and tables, the allocator's
 * fragments): 1.3 in all.
 */
const DE265_META_BYTES_PER_PIXEL = 1.3;
/** Chroma planes' bytes per luma plane byte, by hvcC chroma_format_idc (4:0:0 .. 4:4:4). */
const CHROMA_PER_LUMA = [0, 0.5, 1, 2];
/**
 * The module's start (2 MB), a decoder context with its parameter-set tables and NAL
 * queue, the allocator's bookkeeping: measured ~4.6 MB for a 64x64 image
 * (`wasm/hevc/bench-notes/measure.ts`), 6 MB with margin.
 */
const HEVC_FIXED_BYTES = 6 * MB;

/** hvcC's format of a coded image (a grid: its first tile's; all must share it). */
function hevcFormat(img: HeifImageItem): { chroma: number; bps: number } {
  // Without hvcC the container refuses the file; the worst case keeps this total.
  const f = declaredFormat(img.grid?.tiles[0] ?? img) ?? { chroma: 3, depth: 16, depthChroma: 16 };
  return { chroma: f.chroma, bps: Math.max(f.depth, f.depthChroma) > 8 ? 2 : 1 };
}

/** Planes of `w` x `h` in a format, rows 16-byte aligned (libde265's and the band's). */
function planes(w: number, h: number, f: { chroma: number; bps: number }): number {
  const luma = Math.ceil(w / 16) * 16 * h * f.bps;
  return luma * (1 + (CHROMA_PER_LUMA[f.chroma] ?? 2));
}

/**
 * One picture as libde265 holds it while decoding (the SPS's coded size, which may pass
 * ispe by less than a 64-pixel CTB; sps.ts allows no more): its planes, its metadata and
 * SAO's window of one CTB row (sao-window.patch: not a copy of the whole plane).
 */
function de265Picture(w: number, h: number, f: { chroma: number; bps: number }): number {
  const cw = w + 64;
  const ch = h + 64;
  return planes(cw, ch, f) + cw * ch * DE265_META_BYTES_PER_PIXEL + planes(cw, 66, f);
}

/**
 * WASM bytes of decoding one image (and its alpha) into band slots: a grid holds one tile
 * row of planes and, while a tile is decoded, that tile's picture; a single coded image
 * is adopted whole.
 */
function hevcImageBytes(img: HeifImageItem): { held: number; transient: number } {
  const f = hevcFormat(img);
  if (!img.grid) return { held: de265Picture(img.width, img.height, f), transient: 0 };
  const t = img.grid.tiles[0] ?? img;
  return {
    held: planes(img.width, t.height, f),
    transient: de265Picture(t.width, t.height, f),
  };
}

/**
 * WASM bytes of decoding a HEIC's primary image into the resizer, from the container
 * alone (every coded image's SPS was checked against its ispe first, and the decoder is
 * given this as its ceiling): what each drawn image holds (all of an overlay's layers at
 * once: the worst case), the largest tile being decoded, the coded bytes copied in twice
 * (ours and libde265's NAL queue), the 16-row RGBA buffer and the fixed part. The JS side
 * (input, resizer, an overlay's canvas rows) is the caller's.
 */
export function heicDecodeBytes(h: HeifProbe, inputBytes: number, cropWidth: number): number {
  const drawn = drawnImages(h);
  let wasm = HEVC_FIXED_BYTES;
  let transient = 0;
  let coded = 0;
  let widest = cropWidth;
  for (const img of drawn) {
    const cost = hevcImageBytes(img);
    wasm += cost.held;
    transient = Math.max(transient, cost.transient);
    widest = Math.max(widest, img.width);
    for (const t of img.grid ? img.grid.tiles : [img])
      coded = Math.max(coded, t.coded?.length ?? inputBytes);
  }
  wasm += transient + 2 * Math.min(coded, inputBytes) + 16 * widest * 4;
  // The allocator's slack and WASM's page-granular growth: the planes are single
  // allocations, so little in proportion.
  return Math.ceil(wasm * 1.05 + MB);
}

// ---- AVIF: av1.wasm (dav1d), one coded image at a time into the row resizer -------------

/** Planes per luma sample of a layout: 4:0:0, 4:2:0, 4:2:2, 4:4:4. */
const PLANES = [1, 1.5, 2, 3];

/**
 * dav1d's memory per pixel of one frame beyond its picture: block, motion-vector,
 * loop-filter, CDEF and restoration state (single-threaded, one frame in flight). Measured
 * in Node with `wasm/av1/bench-notes/measure.ts`: ~0.2 per pixel (a 12 MP frame: 44.3 MB
 * of WASM, 37.8 MB of it the padded 4:4:4 picture, 4 MB the module's start); 0.5 leaves
 * margin.
 */
const DAV1D_BYTES_PER_PIXEL = 0.5;
/** The module's start (static data, 1 MB stack, first heap) and dav1d's context and tables. */
const AV1_FIXED_BYTES = 6 * MB;

/** One decoded picture as dav1d allocates it: each axis padded to 128, 64 bytes of slack per row. */
function dav1dPicture(w: number, h: number, f: { depth: number; layout: number }): number {
  const bps = f.depth > 8 ? 2 : 1;
  const aw = Math.ceil(w / 128) * 128 + 64;
  const ah = Math.ceil(h / 128) * 128;
  return aw * ah * bps * (PLANES[f.layout] ?? 3) + w * h * DAV1D_BYTES_PER_PIXEL;
}

/**
 * WASM bytes of decoding an AVIF's primary image (and alpha) into the resizer, from the
 * container alone (the decoder checks every coded image's sequence header against it
 * first, and is given this as its ceiling): for a grid, one tile row of planes per image
 * plus one tile's decoder; for a single coded image, its whole picture (an overlay: each
 * layer's, all held at once, the worst case, as for HEIC). Plus the coded
 * bytes copied in, the 16-row RGBA buffer, the resizer's twin (its tables and float rows:
 * the rows are area-averaged in WASM) and the module's start. The JS side (input,
 * resizer) is the caller's.
 */
export function avifDecodeBytes(h: HeifProbe, inputBytes: number, cropWidth: number): number {
  const images = drawnImages(h);
  const { primary } = h.heif;
  let wasm =
    AV1_FIXED_BYTES +
    16 * Math.max(cropWidth, primary.width) * 4 +
    resizeTwinBytes(primary.width, primary.height);
  let largestCoded = 0;
  let largestTile = 0;
  for (const img of images) {
    const tiles = img.grid ? img.grid.tiles : [img];
    const t = tiles[0] ?? img;
    const f = av1cFormat(t.av1C);
    const bps = f.depth > 8 ? 2 : 1;
    for (const x of tiles) largestCoded = Math.max(largestCoded, x.coded?.length ?? inputBytes);
    if (img.grid) {
      // The band of one tile row, and a tile's picture while it is copied in.
      wasm += img.width * t.height * bps * (PLANES[f.layout] ?? 3);
      largestTile = Math.max(largestTile, dav1dPicture(t.width, t.height, f));
    } else {
      // Adopted whole; the alpha's is decoded while the colour's is held.
      wasm += dav1dPicture(img.width, img.height, f);
    }
  }
  wasm += largestTile + Math.min(inputBytes, largestCoded);
  // The allocator's slack and WASM's page-granular growth (the pictures are single
  // allocations: little slack in proportion).
  return Math.ceil(wasm * 1.05 + MB);
}
