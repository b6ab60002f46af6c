import { expect } from "vitest";
import type { Rgba } from "../src/image/rgba";

// Pixel comparisons of decoded images, for the tests that check what a decode shows.

/** Mean absolute difference per channel of two same-sized images (alpha ignored). */
export function meanDiff(a: Rgba, b: Rgba): number {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  let sum = 0;
  for (let i = 0; i < a.data.length; i += 4)
    for (let c = 0; c < 3; c++) sum += Math.abs((a.data[i + c] ?? 0) - (b.data[i + c] ?? 0));
  return sum / ((a.data.length / 4) * 3);
}

export function mirrored(img: Rgba): Rgba {
  const data = new Uint8ClampedArray(img.data.length);
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++) {
      const from = (y * img.width + x) * 4;
      data.set(img.data.subarray(from, from + 4), (y * img.width + img.width - 1 - x) * 4);
    }
  return { width: img.width, height: img.height, data };
}
