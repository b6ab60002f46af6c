import { gamutToSrgb } from "../codecs/heif/colour";
import { GAMUT_WASM_BYTES, heicDecodeBytes } from "../codecs/heif/estimate";
import type { Probe } from "./probe";
import { rowResizerBytes } from "./row-resize";

const MB = 1024 * 1024;

type Size = { width: number; height: number };
type DecodeCost = { peak: number; leftOver: number };

// ---- HEIC: container in TS, libde265 in WASM, tile rows into a RowResizer ----------------

/** The input, the decoder's WASM (codecs/heif/estimate.ts) and the resizer in JS. */
export function heicCost(p: Probe, inputBytes: number, fit: Size): DecodeCost {
  if (!p.heif) throw new Error("heicCost: no HEIF probe");
  const wasm = heicDecodeBytes(p.heif, inputBytes, p.width);
  const resizer = rowResizerBytes(p.width, p.height, fit.width, fit.height);
  return { peak: inputBytes + wasm + resizer, leftOver: 0 };
}

// ---- AVIF: jSquash's libavif + dav1d (codecs/avif.ts), full size -------------------------

/**
 * WASM bytes per pixel of jSquash's AVIF decoder beyond its 16 MB start: dav1d's frame and
 * reference buffers, libavif's YUV image and its RGB output. Measured in workerd with
 * `BENCH_ONLY=phone npm run bench:processor`: 4 MP 8-bit 77.5 MB (16 per pixel), 12 MP
 * 261 MB (20.4 per pixel); 22 leaves margin, 28 for 10/12-bit (16-bit planes).
 */
const AVIF_BYTES_PER_PIXEL = 22;
const AVIF_BYTES_PER_PIXEL_HIGH = 28;

/**
 * The input copy and the decoder's memory in WASM, then the JS copy of the RGBA, which
 * stays alive until the preview is made; a clean aperture crops a copy of the shown part.
 */
export function avifCost(p: Probe, inputBytes: number): DecodeCost {
  if (!p.heif) throw new Error("avifCost: no HEIF probe");
  const coded = p.heif.heif.primary;
  const pixels = coded.width * coded.height;
  const full = pixels * 4;
  const perPixel = p.bitDepth > 8 ? AVIF_BYTES_PER_PIXEL_HIGH : AVIF_BYTES_PER_PIXEL;
  const wasm = 16 * MB + inputBytes + pixels * perPixel;
  const cropped = p.width === coded.width && p.height === coded.height ? 0 : p.width * p.height * 4;
  // A Display P3 / BT.2020 AVIF is converted in place, through hevc.wasm's small converter,
  // which may run before the decoder's memory is collected.
  const gamut = gamutToSrgb(coded) ? GAMUT_WASM_BYTES : 0;
  return { peak: inputBytes + wasm + full + cropped + gamut, leftOver: full + cropped };
}

// ---- GIF: TypeScript LZW (codecs/gif.ts) ---------------------------------------------------

/** The frame's palette indices (at most the screen), then the RGBA screen, kept for the preview. */
export function gifCost(p: Probe, inputBytes: number): DecodeCost {
  const full = p.width * p.height * 4;
  return { peak: inputBytes + p.width * p.height + full + MB, leftOver: full };
}
