import type { HeifProbe } from "../../image/probe-heif";

const MB = 1024 * 1024;

/**
 * libde265's memory for one decoded picture of this many pixels, per pixel, beyond the
 * YUV planes: its per-block metadata (prediction, transform, deblocking, SAO maps) and
 * the decoded picture buffer's padding: ~1.2 measured in Node on a single-image 12 MP
 * HEIC (39 MB of WASM + resizer, 18 MB of it the 8-bit planes) with
 * `wasm/hevc/bench-notes/measure.ts`; 2 leaves margin.
 */
const DE265_BYTES_PER_PIXEL = 2;

/**
 * WASM bytes of decoding a HEIC's primary image into the resizer, from the container
 * alone: for a grid, one tile row of YUV (colour, and alpha when present) plus one tile's
 * decoder; for a single coded image, its whole decoder. Plus the coded bytes copied in,
 * the 16-row RGBA buffer and the module's own 2 MB. The JS side (input, resizer) is the
 * caller's.
 */
export function heicDecodeBytes(h: HeifProbe, inputBytes: number, cropWidth: number): number {
  const p = h.heif.primary;
  const bps = h.bitDepth > 8 ? 2 : 1;
  const rows = 16 * Math.max(cropWidth, p.width) * 4;
  const yuv = (w: number, hgt: number) => w * hgt * bps * 1.5;
  const picture = (w: number, hgt: number) =>
    yuv(w, hgt) + w * hgt * DE265_BYTES_PER_PIXEL + 1 * MB;
  let wasm = 2 * MB + rows;
  const alphaToo = h.hasAlpha ? 2 : 1;
  if (p.grid) {
    const t = p.grid.tiles[0];
    const tw = t?.width ?? p.width;
    const th = t?.height ?? p.height;
    const largestTile = Math.max(...p.grid.tiles.map((x) => x.coded?.length ?? 0));
    wasm += yuv(p.width, th) * alphaToo + picture(tw, th) + largestTile * 2;
  } else {
    wasm +=
      picture(p.width, p.height) * alphaToo +
      Math.min(inputBytes, p.coded?.length ?? inputBytes) * 2;
  }
  // The allocator's slack and WASM's page-granular growth.
  return Math.ceil(wasm * 1.15);
}

// ---- AVIF: av1.wasm (dav1d), one coded image at a time into the row resizer -------------

/** av1C's format (byte 2: high_bitdepth, twelve_bit, monochrome, subsampling x/y). */
export function av1cFormat(av1C: Uint8Array | null): { depth: number; layout: number } {
  // Without one, the worst: 12-bit 4:4:4 (the container refuses an AVIF without av1C).
  if (!av1C || av1C.length < 4) return { depth: 12, layout: 3 };
  const b = av1C[2] ?? 0;
  const depth = b & 0x40 ? (b & 0x20 ? 12 : 10) : 8;
  const layout = b & 0x10 ? 0 : b & 0x08 ? (b & 0x04 ? 1 : 2) : 3;
  return { depth, layout };
}

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
 * plus one tile's decoder; for a single coded image, its whole picture. Plus the coded
 * bytes copied in, the 16-row RGBA buffer and the module's start. The JS side (input,
 * resizer) is the caller's.
 */
export function avifDecodeBytes(h: HeifProbe, inputBytes: number, cropWidth: number): number {
  const images = [h.heif.primary, ...(h.heif.alpha ? [h.heif.alpha] : [])];
  let wasm = AV1_FIXED_BYTES + 16 * Math.max(cropWidth, h.heif.primary.width) * 4;
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
