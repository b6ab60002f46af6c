import type { Rgba } from "./rgba";

/** EXIF orientations 5..8 turn the picture a quarter: its upright width is its stored height. */
export function swapsAxes(orientation: number): boolean {
  return orientation >= 5 && orientation <= 8;
}

/**
 * Applies an EXIF orientation (1..8) so the pixels come out upright. Orientations 5..8
 * swap width and height. Works on 32-bit words: one copy, no per-channel loop.
 */
export function orient(img: Rgba, orientation: number): Rgba {
  if (orientation < 2 || orientation > 8) return img;
  const { width: w, height: h } = img;
  const src = new Uint32Array(img.data.buffer, img.data.byteOffset, w * h);
  const swap = swapsAxes(orientation);
  const ow = swap ? h : w;
  const oh = swap ? w : h;
  const out = new Uint8ClampedArray(ow * oh * 4);
  const dst = new Uint32Array(out.buffer);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let dx: number;
      let dy: number;
      switch (orientation) {
        case 2: // mirrored horizontally
          dx = w - 1 - x;
          dy = y;
          break;
        case 3: // rotated 180°
          dx = w - 1 - x;
          dy = h - 1 - y;
          break;
        case 4: // mirrored vertically
          dx = x;
          dy = h - 1 - y;
          break;
        case 5: // transposed
          dx = y;
          dy = x;
          break;
        case 6: // rotated 90° clockwise to display
          dx = h - 1 - y;
          dy = x;
          break;
        case 7: // transversed
          dx = h - 1 - y;
          dy = w - 1 - x;
          break;
        default: // 8: rotated 90° counter-clockwise to display
          dx = y;
          dy = w - 1 - x;
      }
      dst[dy * ow + dx] = src[y * w + x] ?? 0;
    }
  }
  return { width: ow, height: oh, data: out };
}
