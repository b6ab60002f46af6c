import { DESCRIPTOR_DIMENSIONS } from "@darkroom/shared";
import type { Rgba } from "./decode-thumb";
import { flattenOnWhite, luma, resamplePlane } from "./pixels";

/**
 * The visual descriptor (version 1): 128 float32 values, L2-normalised, compared by
 * cosine similarity. docs/search.md is the reference; in short, from the thumb
 * (alpha composited over white) resampled to a 64×64 grid:
 *
 * | dims    | group            | what                                                     |
 * |---------|------------------|----------------------------------------------------------|
 * | 0–47    | colour layout    | 4×4 regions × mean (Y − 0.5, 2·Cb, 2·Cr), BT.601         |
 * | 48–79   | colour histogram | 12 hues × 2 saturations + 8 grey levels, √fractions      |
 * | 80–111  | edge orientation | 2×2 quadrants × 8 orientations of Sobel gradients on Y   |
 * | 112–127 | texture          | 8 gradient-magnitude bins (√fractions), 4 quadrant luma  |
 * |         |                  | std-devs (×2), 4 quadrant mean gradient magnitudes       |
 *
 * Each group is L2-normalised on its own, then weighted so that the cosine of two
 * descriptors is 0.35·layout + 0.25·colour + 0.25·edges + 0.15·texture (the cosines
 * of the groups); a group that is all zeros (a flat image has no edges) adds nothing,
 * and the whole vector is L2-normalised again at the end.
 */
export const DESCRIPTOR_VERSION = 1;

const GRID = 64;
const GROUPS = [
  { name: "layout", size: 48, weight: 0.35 },
  { name: "colour", size: 32, weight: 0.25 },
  { name: "edges", size: 32, weight: 0.25 },
  { name: "texture", size: 16, weight: 0.15 },
] as const;

const HUE_BINS = 12;
const GREY_BINS = 8;
/** Below this saturation or value a pixel has no meaningful hue: it counts as grey. */
const GREY_SATURATION = 0.2;
const GREY_VALUE = 0.15;
const ORIENTATION_BINS = 8;
/** Upper bounds of the gradient-magnitude bins (luma in 0..1, Sobel); the last is open. */
const MAGNITUDE_BOUNDS = [0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28];

export function visualDescriptor(image: Rgba): Float32Array {
  const rgb = flattenOnWhite(image);
  const r = resamplePlane(rgb.r, rgb.width, rgb.height, GRID);
  const g = resamplePlane(rgb.g, rgb.width, rgb.height, GRID);
  const b = resamplePlane(rgb.b, rgb.width, rgb.height, GRID);
  const y = new Float64Array(GRID * GRID);
  for (let i = 0; i < y.length; i++) y[i] = luma(r[i] ?? 0, g[i] ?? 0, b[i] ?? 0) / 255;

  const groups = [colourLayout(r, g, b), colourHistogram(r, g, b), ...edgesAndTexture(y)];
  const out = new Float64Array(DESCRIPTOR_DIMENSIONS);
  let offset = 0;
  for (const [i, group] of groups.entries()) {
    const spec = GROUPS[i];
    if (!spec || group.length !== spec.size) throw new Error("descriptor layout mismatch");
    const norm = Math.hypot(...group);
    if (norm > 1e-12) {
      const scale = Math.sqrt(spec.weight) / norm;
      for (let k = 0; k < group.length; k++) out[offset + k] = (group[k] ?? 0) * scale;
    }
    offset += spec.size;
  }
  const total = Math.hypot(...out);
  const result = new Float32Array(DESCRIPTOR_DIMENSIONS);
  if (total > 1e-12) for (let k = 0; k < out.length; k++) result[k] = (out[k] ?? 0) / total;
  return result;
}

/** 4×4 regions of the 64×64 grid: mean Y − 0.5, and chroma doubled (it spans ±0.5 less). */
function colourLayout(r: Float64Array, g: Float64Array, b: Float64Array): number[] {
  const regions = 4;
  const cell = GRID / regions;
  const out: number[] = [];
  for (let ry = 0; ry < regions; ry++) {
    for (let rx = 0; rx < regions; rx++) {
      let sy = 0;
      let scb = 0;
      let scr = 0;
      for (let y = ry * cell; y < (ry + 1) * cell; y++) {
        for (let x = rx * cell; x < (rx + 1) * cell; x++) {
          const i = y * GRID + x;
          const R = (r[i] ?? 0) / 255;
          const G = (g[i] ?? 0) / 255;
          const B = (b[i] ?? 0) / 255;
          sy += luma(R, G, B);
          scb += -0.168736 * R - 0.331264 * G + 0.5 * B;
          scr += 0.5 * R - 0.418688 * G - 0.081312 * B;
        }
      }
      const n = cell * cell;
      out.push(sy / n - 0.5, (2 * scb) / n, (2 * scr) / n);
    }
  }
  return out;
}

/** HSV histogram: 12 hues × (saturation < 0.55, ≥ 0.55), then 8 grey levels; √fractions. */
function colourHistogram(r: Float64Array, g: Float64Array, b: Float64Array): number[] {
  const bins = new Array<number>(HUE_BINS * 2 + GREY_BINS).fill(0);
  const n = GRID * GRID;
  for (let i = 0; i < n; i++) {
    const R = (r[i] ?? 0) / 255;
    const G = (g[i] ?? 0) / 255;
    const B = (b[i] ?? 0) / 255;
    const max = Math.max(R, G, B);
    const min = Math.min(R, G, B);
    const v = max;
    const s = max > 0 ? (max - min) / max : 0;
    let bin: number;
    if (s < GREY_SATURATION || v < GREY_VALUE) {
      bin = HUE_BINS * 2 + Math.min(GREY_BINS - 1, Math.floor(v * GREY_BINS));
    } else {
      const hue = hueDegrees(R, G, B, max, min);
      const h = Math.min(HUE_BINS - 1, Math.floor(hue / (360 / HUE_BINS)));
      bin = h * 2 + (s < 0.55 ? 0 : 1);
    }
    bins[bin] = (bins[bin] ?? 0) + 1;
  }
  return bins.map((c) => Math.sqrt(c / n));
}

function hueDegrees(r: number, g: number, b: number, max: number, min: number): number {
  const d = max - min;
  if (d === 0) return 0;
  let h: number;
  if (max === r) h = ((g - b) / d) % 6;
  else if (max === g) h = (b - r) / d + 2;
  else h = (r - g) / d + 4;
  const deg = h * 60;
  return deg < 0 ? deg + 360 : deg;
}

/** Sobel gradients of the luma grid: orientation histograms per quadrant, and texture. */
function edgesAndTexture(y: Float64Array): [number[], number[]] {
  const orientations = new Array<number>(4 * ORIENTATION_BINS).fill(0);
  const magnitudes = new Array<number>(MAGNITUDE_BOUNDS.length + 1).fill(0);
  const quadrantMagnitude = [0, 0, 0, 0];
  const quadrantPixels = [0, 0, 0, 0];
  const half = GRID / 2;
  let interior = 0;
  for (let py = 1; py < GRID - 1; py++) {
    for (let px = 1; px < GRID - 1; px++) {
      const at = (dx: number, dy: number) => y[(py + dy) * GRID + px + dx] ?? 0;
      const gx = at(1, -1) + 2 * at(1, 0) + at(1, 1) - at(-1, -1) - 2 * at(-1, 0) - at(-1, 1);
      const gy = at(-1, 1) + 2 * at(0, 1) + at(1, 1) - at(-1, -1) - 2 * at(0, -1) - at(1, -1);
      const m = Math.hypot(gx, gy);
      const q = (py < half ? 0 : 2) + (px < half ? 0 : 1);
      interior += 1;
      quadrantMagnitude[q] = (quadrantMagnitude[q] ?? 0) + m;
      quadrantPixels[q] = (quadrantPixels[q] ?? 0) + 1;
      let mb = MAGNITUDE_BOUNDS.findIndex((bound) => m < bound);
      if (mb === -1) mb = MAGNITUDE_BOUNDS.length;
      magnitudes[mb] = (magnitudes[mb] ?? 0) + 1;
      if (m === 0) continue;
      // Unsigned orientation in [0, π): dark-to-light and light-to-dark are the same
      // edge (atan2 gives ±π for a horizontal gradient pointing left).
      let theta = Math.atan2(gy, gx);
      if (theta < 0) theta += Math.PI;
      if (theta >= Math.PI) theta -= Math.PI;
      const ob = Math.min(ORIENTATION_BINS - 1, Math.floor((theta / Math.PI) * ORIENTATION_BINS));
      const k = q * ORIENTATION_BINS + ob;
      orientations[k] = (orientations[k] ?? 0) + m;
    }
  }
  const texture = magnitudes.map((c) => Math.sqrt(c / interior));
  for (let q = 0; q < 4; q++) {
    const x0 = (q % 2) * half;
    const y0 = Math.floor(q / 2) * half;
    const n = half * half;
    let sum = 0;
    for (let py = y0; py < y0 + half; py++) {
      for (let px = x0; px < x0 + half; px++) sum += y[py * GRID + px] ?? 0;
    }
    const mean = sum / n;
    // Two passes: a flat region's spread is exactly 0, not float noise.
    let squares = 0;
    for (let py = y0; py < y0 + half; py++) {
      for (let px = x0; px < x0 + half; px++) squares += ((y[py * GRID + px] ?? 0) - mean) ** 2;
    }
    texture.push(2 * Math.sqrt(squares / n));
  }
  for (let q = 0; q < 4; q++) {
    texture.push((quadrantMagnitude[q] ?? 0) / Math.max(1, quadrantPixels[q] ?? 0));
  }
  return [orientations, texture];
}

/** Cosine similarity of two L2-normalised descriptors (their dot product). */
export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += (a[i] ?? 0) * (b[i] ?? 0);
  return dot;
}

/**
 * Names of the 12 hue bins, [low saturation, high saturation]: muted reds and oranges
 * (wood, skin) read as brown, olive as green.
 */
const HUE_NAMES: readonly (readonly [string, string])[] = [
  ["brown", "red"],
  ["brown", "orange"],
  ["green", "yellow"],
  ["green", "green"],
  ["green", "green"],
  ["green", "green"],
  ["cyan", "cyan"],
  ["blue", "blue"],
  ["blue", "blue"],
  ["purple", "purple"],
  ["pink", "pink"],
  ["red", "red"],
];
/** A colour is named when it covers at least this fraction of the photo. */
const COLOUR_NAME_MIN_SHARE = 0.12;
/** A photo with less than this fraction of coloured pixels is monochrome. */
const MONOCHROME_MAX_CHROMA = 0.03;

/**
 * Colour words for a descriptor: the (at most 3) colours covering at least 12% of the
 * photo, most first, and "monochrome" when almost nothing has a hue. They are the
 * labels of a photo when there is no AI, so the text search still finds "blue" photos.
 * A heuristic, not colour science: read back from the colour histogram group, whose
 * squared values are proportional to the pixel fractions (square roots before scaling).
 */
export function colourNames(descriptor: Float32Array): string[] {
  const start = GROUPS[0].size;
  const bins = Array.from(descriptor.subarray(start, start + GROUPS[1].size), (v) => v * v);
  const total = bins.reduce((a, b) => a + b, 0);
  if (total <= 0) return [];
  const shares = new Map<string, number>();
  const add = (name: string, share: number) => shares.set(name, (shares.get(name) ?? 0) + share);
  let chroma = 0;
  for (let h = 0; h < HUE_BINS; h++) {
    const [low, high] = HUE_NAMES[h] ?? ["", ""];
    const lowShare = (bins[h * 2] ?? 0) / total;
    const highShare = (bins[h * 2 + 1] ?? 0) / total;
    chroma += lowShare + highShare;
    add(low, lowShare);
    add(high, highShare);
  }
  for (let g = 0; g < GREY_BINS; g++) {
    const share = (bins[HUE_BINS * 2 + g] ?? 0) / total;
    add(g < 2 ? "black" : g < 6 ? "grey" : "white", share);
  }
  const names = [...shares]
    .filter(([, share]) => share >= COLOUR_NAME_MIN_SHARE)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, 3)
    .map(([name]) => name);
  return chroma < MONOCHROME_MAX_CHROMA ? ["monochrome", ...names] : names;
}
