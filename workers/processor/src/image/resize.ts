import type { Rgba } from "./rgba";
import { RowResizer } from "./row-resize";

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

/**
 * Downscales to fit `longEdge` (never upscales) with the area-average RowResizer, fed the
 * image's rows in order: besides the output it holds a few float rows, never a
 * full-height intermediate (a 24 MP source would need ~100 MB of floats for one).
 */
export function downscale(img: Rgba, longEdge: number): Rgba {
  const { width: ow, height: oh } = fitLongEdge(img.width, img.height, longEdge);
  if (ow === img.width && oh === img.height) return img;
  const { width: w, height: h, data } = img;
  const resizer = new RowResizer(w, h, ow, oh);
  const stride = w * 4;
  for (let y = 0; y < h; y++) resizer.push(data.subarray(y * stride, (y + 1) * stride));
  return resizer.finish();
}
