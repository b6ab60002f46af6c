import type { Rgba } from "./decode-thumb";
import { flattenOnWhite, luma, resamplePlane } from "./pixels";

/**
 * The 64-bit perceptual hash (DCT pHash), as 16 lowercase hex digits. docs/search.md is
 * the reference: luma (BT.601, alpha over white) box-resampled to 32×32, a 2-D DCT-II,
 * the 8×8 lowest frequencies without the DC row and column (u, v = 1..8), each bit 1
 * when its coefficient is above the median of the 64; bits in row-major order (u, then
 * v), most significant first. Resizing and re-encoding barely move it; unrelated
 * photos differ in about half the bits.
 */
export function perceptualHash(image: Rgba): string {
  const N = 32;
  const rgb = flattenOnWhite(image);
  const y = new Float64Array(rgb.width * rgb.height);
  for (let i = 0; i < y.length; i++) y[i] = luma(rgb.r[i] ?? 0, rgb.g[i] ?? 0, rgb.b[i] ?? 0);
  const small = resamplePlane(y, rgb.width, rgb.height, N);

  // cos[(2x + 1) u π / 2N] for the 9 lowest frequencies.
  const basis: number[][] = [];
  for (let u = 0; u <= 8; u++) {
    const row: number[] = [];
    for (let x = 0; x < N; x++) row.push(Math.cos(((2 * x + 1) * u * Math.PI) / (2 * N)));
    basis.push(row);
  }
  const coefficients: number[] = [];
  for (let u = 1; u <= 8; u++) {
    const bu = basis[u] ?? [];
    for (let v = 1; v <= 8; v++) {
      const bv = basis[v] ?? [];
      let sum = 0;
      for (let row = 0; row < N; row++) {
        let inner = 0;
        for (let col = 0; col < N; col++) inner += (small[row * N + col] ?? 0) * (bv[col] ?? 0);
        sum += inner * (bu[row] ?? 0);
      }
      coefficients.push(sum);
    }
  }
  const sorted = [...coefficients].sort((a, b) => a - b);
  const median = ((sorted[31] ?? 0) + (sorted[32] ?? 0)) / 2;
  let hex = "";
  for (let nibble = 0; nibble < 16; nibble++) {
    let value = 0;
    for (let bit = 0; bit < 4; bit++) {
      value = (value << 1) | ((coefficients[nibble * 4 + bit] ?? 0) > median ? 1 : 0);
    }
    hex += value.toString(16);
  }
  return hex;
}

/** Number of differing bits of two 16-hex-digit hashes. */
export function hammingDistance(a: string, b: string): number {
  let distance = 0;
  for (let i = 0; i < 16; i += 4) {
    let x = Number.parseInt(a.slice(i, i + 4), 16) ^ Number.parseInt(b.slice(i, i + 4), 16);
    while (x) {
      x &= x - 1;
      distance += 1;
    }
  }
  return distance;
}
