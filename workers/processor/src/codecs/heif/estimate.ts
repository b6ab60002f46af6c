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

/**
 * WASM memory of hevc.wasm used only as a gamut converter (AVIF's Display P3 to sRGB,
 * codecs/avif.ts): its 2 MB start, a 256 KB chunk buffer and the allocator's slack. Also
 * the converter's ceiling, so what the estimate counts is what it may use.
 */
export const GAMUT_WASM_BYTES = 4 * MB;
