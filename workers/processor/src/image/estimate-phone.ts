import { heicDecodeBytes } from "../codecs/heif/estimate";
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
 * The input copy, dav1d's frame (planes at up to 16 bits, and its reference/film-grain
 * buffers: ~3x the planes), the full-size RGBA in WASM, the module's own 16 MB initial
 * memory and ~8 MB of dav1d's fixed state, then the JS copy; the full RGBA stays alive
 * until the preview is made. (800x652 8-bit: 26.4 MB measured at peak, 24.3 MB of it WASM.)
 * A clean aperture crops a copy of the shown part.
 */
export function avifCost(p: Probe, inputBytes: number): DecodeCost {
  if (!p.heif) throw new Error("avifCost: no HEIF probe");
  const coded = p.heif.heif.primary;
  const full = coded.width * coded.height * 4;
  const planes = coded.width * coded.height * (p.bitDepth > 8 ? 2 : 1) * (p.hasAlpha ? 2.5 : 1.5);
  const wasm = inputBytes + planes * 3 + full + 24 * MB;
  const cropped = p.width * p.height * 4;
  return { peak: inputBytes + wasm + full + cropped, leftOver: full + cropped };
}

// ---- GIF: TypeScript LZW (codecs/gif.ts) ---------------------------------------------------

/** The frame's palette indices (at most the screen), then the RGBA screen, kept for the preview. */
export function gifCost(p: Probe, inputBytes: number): DecodeCost {
  const full = p.width * p.height * 4;
  return { peak: inputBytes + p.width * p.height + full + MB, leftOver: full };
}
