import type { Nclx } from "./types";

/**
 * Which YCbCr matrix, range and gamut conversion a HEIF image needs to come out as sRGB.
 * Phones shoot Display P3 (iPhone: an ICC profile, often with nclx primaries 12 too); the
 * variants are sRGB WebP without a profile, so P3 and BT.2020 pixels are converted in
 * linear light to sRGB primaries (clipped) instead of being shown desaturated.
 */
export type ColourPlan = { matrix: number; fullRange: boolean; gamut: Float32Array | null };

/** Linear-light 3x3 (row-major) from these primaries to sRGB/BT.709's, both D65. */
const P3_TO_SRGB = [1.2249, -0.2247, 0, -0.042, 1.0419, 0, -0.0197, -0.0786, 1.0979];
const BT2020_TO_SRGB = [
  1.6605, -0.5876, -0.0728, -0.1246, 1.1329, -0.0083, -0.0182, -0.1006, 1.1187,
];

/** sRGB's red, green, blue colourants adapted to D50 (what an ICC profile stores), columns. */
const SRGB_D50 = [
  0.4360747, 0.3850649, 0.1430804, 0.2225045, 0.7168786, 0.0606169, 0.0139322, 0.0971045, 0.7141733,
];

function invert3(m: number[]): number[] | null {
  const [a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0, h = 0, i = 0] = m;
  const det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  if (Math.abs(det) < 1e-9) return null;
  return [
    (e * i - f * h) / det,
    (c * h - b * i) / det,
    (b * f - c * e) / det,
    (f * g - d * i) / det,
    (a * i - c * g) / det,
    (c * d - a * f) / det,
    (d * h - e * g) / det,
    (b * g - a * h) / det,
    (a * e - b * d) / det,
  ];
}

function multiply3(x: number[], y: number[]): number[] {
  const out: number[] = [];
  for (let r = 0; r < 3; r++)
    for (let c = 0; c < 3; c++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += (x[r * 3 + k] ?? 0) * (y[k * 3 + c] ?? 0);
      out.push(s);
    }
  return out;
}

/**
 * A matrix/TRC ICC profile's colourants (rXYZ, gXYZ, bXYZ) as a conversion to sRGB
 * primaries; null for an sRGB-like profile, a LUT-based one or anything unreadable. The
 * tone curve is taken to be sRGB's (Display P3's is).
 */
export function iccToSrgb(icc: Uint8Array): number[] | null {
  if (icc.length < 132 || icc.length > 4 * 1024 * 1024) return null;
  const dv = new DataView(icc.buffer, icc.byteOffset, icc.byteLength);
  const count = dv.getUint32(128);
  if (count > 200 || 132 + count * 12 > icc.length) return null;
  const xyz: Record<string, number[]> = {};
  for (let i = 0; i < count; i++) {
    const at = 132 + i * 12;
    const sig = String.fromCharCode(
      icc[at] ?? 0,
      icc[at + 1] ?? 0,
      icc[at + 2] ?? 0,
      icc[at + 3] ?? 0,
    );
    const off = dv.getUint32(at + 4);
    if (!["rXYZ", "gXYZ", "bXYZ"].includes(sig) || off + 20 > icc.length) continue;
    xyz[sig] = [0, 1, 2].map((k) => dv.getInt32(off + 8 + k * 4) / 65536);
  }
  const r = xyz.rXYZ;
  const g = xyz.gXYZ;
  const b = xyz.bXYZ;
  if (!r || !g || !b) return null;
  const colourants = [r[0], g[0], b[0], r[1], g[1], b[1], r[2], g[2], b[2]].map((v) => v ?? 0);
  const inv = invert3(SRGB_D50);
  if (!inv) return null;
  const m = multiply3(inv, colourants);
  // Within rounding of the identity: already sRGB.
  if (m.every((v, i) => Math.abs(v - (i % 4 === 0 ? 1 : 0)) < 0.02)) return null;
  return m;
}

/**
 * nclx (colr box) wins for matrix and range; without one, the HEVC VUI's; without that,
 * BT.601 full range, libheif's default. Gamut: the ICC profile's colourants when there is
 * one, else the nclx primaries (12 Display P3, 11 DCI-P3 taken as P3-D65, 9 BT.2020).
 */
export function colourPlan(
  nclx: Nclx | null,
  icc: Uint8Array | null,
  vui: { matrix: number; fullRange: boolean } | null,
): ColourPlan {
  const matrix = nclx ? nclx.matrix : vui && vui.matrix !== 2 ? vui.matrix : 6;
  const fullRange = nclx ? nclx.fullRange : vui ? vui.fullRange : true;
  let gamut: number[] | null = icc ? iccToSrgb(icc) : null;
  if (!gamut && !icc && nclx) {
    if (nclx.primaries === 12 || nclx.primaries === 11) gamut = P3_TO_SRGB;
    else if (nclx.primaries === 9) gamut = BT2020_TO_SRGB;
  }
  return { matrix, fullRange, gamut: gamut ? Float32Array.from(gamut) : null };
}
