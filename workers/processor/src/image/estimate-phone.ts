import { avifDecodeBytes, heicDecodeBytes } from "../codecs/heif/estimate";
import type { Probe } from "./probe";
import { rowResizerBytes } from "./row-resize";

const MB = 1024 * 1024;

type Size = { width: number; height: number };
type DecodeCost = { peak: number; leftOver: number };

// ---- HEIC: container in TS, libde265 in WASM, tile rows into a RowResizer ----------------

/**
 * The input, the decoder's WASM (codecs/heif/estimate.ts), the resizer in JS and, for an
 * overlay, its 16 canvas rows.
 */
export function heicCost(p: Probe, inputBytes: number, fit: Size): DecodeCost {
  if (!p.heif) throw new Error("heicCost: no HEIF probe");
  const wasm = heicDecodeBytes(p.heif, inputBytes, p.width);
  const resizer = rowResizerBytes(p.width, p.height, fit.width, fit.height);
  return { peak: inputBytes + wasm + resizer + overlayCanvasBytes(p), leftOver: 0 };
}

/** An overlay's 16 canvas rows in JS (codecs/heif/compose.ts), for HEIC and AVIF alike. */
function overlayCanvasBytes(p: Probe): number {
  return p.heif?.heif.primary.overlay ? 16 * Math.max(p.width, p.height) * 4 : 0;
}

// ---- AVIF: container in TS, dav1d in WASM, tile rows into a RowResizer ------------------

/**
 * The input, the decoder's WASM (codecs/heif/estimate.ts), the resizer in JS and, for an
 * overlay, its 16 canvas rows.
 */
export function avifCost(p: Probe, inputBytes: number, fit: Size): DecodeCost {
  if (!p.heif) throw new Error("avifCost: no HEIF probe");
  const wasm = avifDecodeBytes(p.heif, inputBytes, p.width);
  const resizer = rowResizerBytes(p.width, p.height, fit.width, fit.height);
  return { peak: inputBytes + wasm + resizer + overlayCanvasBytes(p), leftOver: 0 };
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
