import type { Rgba } from "./rgba";

/** Output size for a long edge, never upscaling, keeping the aspect ratio. */
export function fitLongEdge(
  width: number,
  height: number,
  longEdge: number,
): { width: number; height: number } {
  const scale = Math.min(1, longEdge / Math.max(width, height));
  return {
    width: Math.max(1, Math.round(width * scale)),
    height: Math.max(1, Math.round(height * scale)),
  };
}

type Taps = { start: Int32Array; count: Int32Array; weights: Float32Array; maxTaps: number };

/**
 * Area-average weights: each output pixel is the exact average of the source area it
 * covers (partial pixels weighted by coverage). For downscaling this is the box filter
 * libvips' shrink uses: alias-free, sharp enough at the ratios thumbnails need, and
 * cheap, with no WASM memory to grow.
 */
function taps(src: number, dst: number): Taps {
  const ratio = src / dst;
  const maxTaps = Math.ceil(ratio) + 1;
  const start = new Int32Array(dst);
  const count = new Int32Array(dst);
  const weights = new Float32Array(dst * maxTaps);
  for (let i = 0; i < dst; i++) {
    const a = i * ratio;
    const b = a + ratio;
    const first = Math.floor(a);
    const last = Math.min(src - 1, Math.ceil(b) - 1);
    start[i] = first;
    count[i] = last - first + 1;
    for (let s = first; s <= last; s++) {
      const cover = Math.min(b, s + 1) - Math.max(a, s);
      weights[i * maxTaps + (s - first)] = cover / ratio;
    }
  }
  return { start, count, weights, maxTaps };
}

/**
 * Downscales to fit `longEdge` (never upscales). Colour is averaged premultiplied by
 * alpha, so transparent pixels do not bleed dark fringes into the edges of opaque ones.
 * Separable, and streaming over source rows: besides the output it holds two
 * horizontally-resampled rows, never a full-height intermediate (a 24 MP source would
 * need ~100 MB of floats for one).
 */
export function downscale(img: Rgba, longEdge: number): Rgba {
  const { width: ow, height: oh } = fitLongEdge(img.width, img.height, longEdge);
  if (ow === img.width && oh === img.height) return img;
  const { width: w, height: h, data } = img;
  const tx = taps(w, ow);
  const ty = taps(h, oh);

  // Horizontal pass of one source row, premultiplied; the row shared by two output rows
  // is kept instead of being resampled twice.
  let cachedY = -1;
  let cached = new Float32Array(ow * 4);
  let spare = new Float32Array(ow * 4);
  const rowAt = (y: number): Float32Array => {
    if (y === cachedY) return cached;
    const row = y * w * 4;
    for (let x = 0; x < ow; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      const s0 = tx.start[x] ?? 0;
      const n = tx.count[x] ?? 0;
      for (let k = 0; k < n; k++) {
        const p = row + (s0 + k) * 4;
        const alpha = (data[p + 3] ?? 0) * (tx.weights[x * tx.maxTaps + k] ?? 0);
        r += (data[p] ?? 0) * alpha;
        g += (data[p + 1] ?? 0) * alpha;
        b += (data[p + 2] ?? 0) * alpha;
        a += alpha;
      }
      const m = x * 4;
      spare[m] = r;
      spare[m + 1] = g;
      spare[m + 2] = b;
      spare[m + 3] = a;
    }
    [cached, spare] = [spare, cached];
    cachedY = y;
    return cached;
  };

  const out = new Uint8ClampedArray(ow * oh * 4);
  const acc = new Float32Array(ow * 4);
  for (let y = 0; y < oh; y++) {
    acc.fill(0);
    const s0 = ty.start[y] ?? 0;
    const n = ty.count[y] ?? 0;
    for (let k = 0; k < n; k++) {
      const wgt = ty.weights[y * ty.maxTaps + k] ?? 0;
      const src = rowAt(s0 + k);
      for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] ?? 0) + (src[i] ?? 0) * wgt;
    }
    const o = y * ow * 4;
    for (let x = 0; x < ow; x++) {
      const m = x * 4;
      const a = acc[m + 3] ?? 0;
      if (a > 0) {
        out[o + m] = (acc[m] ?? 0) / a;
        out[o + m + 1] = (acc[m + 1] ?? 0) / a;
        out[o + m + 2] = (acc[m + 2] ?? 0) / a;
      }
      out[o + m + 3] = a;
    }
  }
  return { width: ow, height: oh, data: out };
}
