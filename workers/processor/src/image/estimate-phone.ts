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
 * The heap the AVIF decoder may grow to (its limit, `decodeAvif`'s `maxHeapBytes`): its
 * 16 MB start, the input copied in and the per-pixel work of the coded (ispe) size, which
 * the probe checked the AV1 sequence headers against.
 */
export function avifHeapBytes(p: Probe, inputBytes: number): number {
  if (!p.heif) throw new Error("avifHeapBytes: no HEIF probe");
  const coded = p.heif.heif.primary;
  const perPixel = p.bitDepth > 8 ? AVIF_BYTES_PER_PIXEL_HIGH : AVIF_BYTES_PER_PIXEL;
  return 16 * MB + inputBytes + coded.width * coded.height * perPixel;
}

/**
 * The input copy and the decoder's memory in WASM (its heap limit, which emscripten's
 * growth may overshoot by 20%: see codecs/emscripten.ts), then the JS copy of the RGBA,
 * which stays alive until the preview is made; a clean aperture crops a copy of the shown
 * part.
 */
export function avifCost(p: Probe, inputBytes: number): DecodeCost {
  if (!p.heif) throw new Error("avifCost: no HEIF probe");
  const coded = p.heif.heif.primary;
  const pixels = coded.width * coded.height;
  const full = pixels * 4;
  const wasm = avifHeapBytes(p, inputBytes) * 1.2;
  const cropped = p.width === coded.width && p.height === coded.height ? 0 : p.width * p.height * 4;
  // A Display P3 / BT.2020 AVIF is converted in place, through hevc.wasm's small converter,
  // which may run before the decoder's memory is collected.
  const gamut = gamutToSrgb(coded) ? GAMUT_WASM_BYTES : 0;
  return { peak: inputBytes + wasm + full + cropped + gamut, leftOver: full + cropped };
}

// ---- GIF: TypeScript LZW (codecs/gif.ts) ---------------------------------------------------

/**
 * The RGBA screen, kept for the preview, and the decoder's scratch: one row of palette
 * indices at the frame's width (a GIF's 16-bit width: at most 64 KB, whatever the frame
 * says; the frame is clipped to the screen and never sized in full) and the LZW tables
 * (~21 KB), both inside the 1 MB.
 */
export function gifCost(p: Probe, inputBytes: number): DecodeCost {
  const full = p.width * p.height * 4;
  return { peak: inputBytes + full + MB, leftOver: full };
}
