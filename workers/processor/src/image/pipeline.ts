import { encodeWebp } from "../codecs/webp";
import { type Budget, DEFAULT_BUDGET } from "./budget";
import { metadataOf } from "./container-metadata";
import { decode } from "./decode";
import { orient } from "./orient";
import { distinctBytes, PeakMeter } from "./peak-meter";
import { planImage } from "./plan";
import { originalOf, type Processed } from "./processed";
import { downscale } from "./resize";
import { PREVIEW_EDGE, PREVIEW_QUALITY, THUMB_EDGE, THUMB_QUALITY, WEBP_EFFORT } from "./variants";
import { type ImagesLike, viaImages } from "./via-images";

export { type Budget, DEFAULT_BUDGET } from "./budget";
export { estimateBytes } from "./estimate";
export { laneBytes, PLAN_PREFIX_BYTES, type Plan, planImage } from "./plan";
export type { Processed, Variant } from "./processed";
export { PREVIEW_EDGE, PREVIEW_QUALITY, THUMB_EDGE, THUMB_QUALITY, WEBP_EFFORT } from "./variants";
export type { ImagesLike } from "./via-images";

/**
 * One photo to its variants (preview 1440, thumb 320, WebP, upright, no metadata).
 * Checks come first, from the header: format, pixel cap, memory budget. An image that
 * cannot fit goes to the Images binding when there is one, and fails `too_large`
 * otherwise. Throws ImageError for permanent failures.
 */
export async function processImage(
  bytes: Uint8Array,
  opts: { budget?: Budget; images?: ImagesLike } = {},
): Promise<Processed> {
  const budget = opts.budget ?? DEFAULT_BUDGET;
  const plan = planImage(bytes, bytes.byteLength, { budget, images: Boolean(opts.images) });
  const { probe: p, estimatedBytes } = plan;
  const metadata = await metadataOf(bytes, p);
  if (plan.path === "images" && opts.images)
    return viaImages(bytes, p, metadata, estimatedBytes, opts.images);

  const meter = new PeakMeter();
  const decoded = await decode(bytes, p, meter);
  const sized = downscale(decoded, PREVIEW_EDGE);
  const previewPx = orient(sized, metadata.orientation);
  const thumbPx = downscale(previewPx, THUMB_EDGE);
  // Everything of this image still referenced while the encoders run.
  const live = distinctBytes(bytes, decoded.data, sized.data, previewPx.data, thumbPx.data);
  meter.note(live);
  const preview = await encodeWebp(previewPx, PREVIEW_QUALITY, WEBP_EFFORT);
  meter.note(live + preview.wasmBytes);
  const thumb = await encodeWebp(thumbPx, THUMB_QUALITY, WEBP_EFFORT);
  meter.note(live + thumb.wasmBytes);
  return {
    ...originalOf(p, metadata),
    preview: { bytes: preview.value, width: previewPx.width, height: previewPx.height },
    thumb: { bytes: thumb.value, width: thumbPx.width, height: thumbPx.height },
    peakBytes: meter.peak,
    estimatedBytes,
    path: "wasm",
    warnings: meter.warnings,
  };
}
