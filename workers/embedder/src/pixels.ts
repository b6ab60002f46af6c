/**
 * Pixel helpers shared by the descriptor and the perceptual hash. Everything here is
 * plain float64 arithmetic over integer inputs in a fixed order, so the same thumb
 * gives bit-identical results on every run and machine (V8 in workerd and in Node).
 */

import type { Rgba } from "./decode-thumb";

/** RGB planes (0..255 floats), alpha composited over white. */
export type Rgb = {
  width: number;
  height: number;
  r: Float64Array;
  g: Float64Array;
  b: Float64Array;
};

/**
 * Drops alpha by compositing over white, the page colour the thumbs are shown on, so a
 * transparent pixel counts as the white it looks like rather than as its hidden RGB.
 */
export function flattenOnWhite(image: Rgba): Rgb {
  const n = image.width * image.height;
  const r = new Float64Array(n);
  const g = new Float64Array(n);
  const b = new Float64Array(n);
  const d = image.data;
  for (let i = 0; i < n; i++) {
    const a = (d[i * 4 + 3] ?? 255) / 255;
    const white = 255 * (1 - a);
    r[i] = (d[i * 4] ?? 0) * a + white;
    g[i] = (d[i * 4 + 1] ?? 0) * a + white;
    b[i] = (d[i * 4 + 2] ?? 0) * a + white;
  }
  return { width: image.width, height: image.height, r, g, b };
}

/**
 * Source index range [start, end) that output cell `i` of `n` covers along an axis of
 * `size` pixels: a box filter when shrinking, and never empty when enlarging.
 */
function span(i: number, n: number, size: number): [number, number] {
  const start = Math.floor((i * size) / n);
  const end = Math.max(Math.floor(((i + 1) * size) / n), start + 1);
  return [start, Math.min(end, size)];
}

/** Box-filter resample of one plane to `n`×`n` (aspect ratio is not kept). */
export function resamplePlane(
  plane: Float64Array,
  width: number,
  height: number,
  n: number,
): Float64Array {
  const out = new Float64Array(n * n);
  for (let y = 0; y < n; y++) {
    const [y0, y1] = span(y, n, height);
    for (let x = 0; x < n; x++) {
      const [x0, x1] = span(x, n, width);
      let sum = 0;
      for (let sy = y0; sy < y1; sy++) {
        for (let sx = x0; sx < x1; sx++) sum += plane[sy * width + sx] ?? 0;
      }
      out[y * n + x] = sum / ((y1 - y0) * (x1 - x0));
    }
  }
  return out;
}

/** ITU-R BT.601 luma of 0..255 RGB, in 0..255. */
export function luma(r: number, g: number, b: number): number {
  return 0.299 * r + 0.587 * g + 0.114 * b;
}
