import { ImageError } from "./errors";
import type { Probe } from "./probe";

// What Cloudflare's Images binding accepts as a transformation input, so that nothing is
// sent to it that Cloudflare would refuse. Locally the binding is wrangler's emulation on
// sharp, which reads far more (AVIF, any size): without this guard a photo would succeed
// here and fail in production. Every figure is from Cloudflare's documentation:
//
// - Input formats: JPEG, PNG, GIF (incl. animations), WebP (incl. animations), SVG, and
//   HEIC since the 2025-07-08 changelog. AVIF is an output format only.
//   https://developers.cloudflare.com/images/transform-images/
//   https://developers.cloudflare.com/changelog/post/heic-support/ (2025-07-08)
// - Limits when transforming: file size 100 MB, image area 100 MP, each side 12,000 px
//   (WebP excepted), and an animation over 50 MP in all its frames is delivered without
//   any transformation (our variants would then be the original, not a 1440 px WebP).
//   https://developers.cloudflare.com/images/get-started/limits/

/** Input formats the Images binding transforms, among those the processor reads. */
export const IMAGES_INPUT_FORMATS: readonly Probe["format"][] = [
  "jpeg",
  "png",
  "gif",
  "webp",
  "heic",
];
export const IMAGES_MAX_PIXELS = 100_000_000;
/** Longest side, for every format but WebP (whose own format stops at 16,383). */
export const IMAGES_MAX_EDGE = 12_000;
export const IMAGES_MAX_FILE_BYTES = 100 * 1024 * 1024;
/** An animation over this many pixels (all frames) comes back untransformed. */
export const IMAGES_MAX_ANIMATION_PIXELS = 50_000_000;

/**
 * Why the Images binding would not transform this image, or null when it would. `p` is
 * the probe of the original, `fileBytes` its size.
 */
export function imagesRefusal(
  p: Probe,
  fileBytes: number,
): { code: "unsupported_format" | "too_large"; why: string } | null {
  if (!IMAGES_INPUT_FORMATS.includes(p.format)) {
    return {
      code: "unsupported_format",
      why: `Cloudflare Images does not take ${p.format.toUpperCase()} as a transformation input`,
    };
  }
  const pixels = p.width * p.height;
  if (pixels > IMAGES_MAX_PIXELS) {
    return {
      code: "too_large",
      why: `Cloudflare Images transforms at most ${IMAGES_MAX_PIXELS / 1e6} MP`,
    };
  }
  if (p.format !== "webp" && Math.max(p.width, p.height) > IMAGES_MAX_EDGE) {
    return {
      code: "too_large",
      why: `Cloudflare Images transforms at most ${IMAGES_MAX_EDGE.toLocaleString("en-US")} px per side`,
    };
  }
  if (fileBytes > IMAGES_MAX_FILE_BYTES) {
    return {
      code: "too_large",
      why: `Cloudflare Images transforms files of at most ${IMAGES_MAX_FILE_BYTES / 2 ** 20} MB`,
    };
  }
  // Two frames at least: an animation whose frames add up past the limit is not resized.
  if (p.animated && 2 * pixels > IMAGES_MAX_ANIMATION_PIXELS) {
    return {
      code: "too_large",
      why: `Cloudflare Images leaves animations over ${IMAGES_MAX_ANIMATION_PIXELS / 1e6} MP untransformed`,
    };
  }
  return null;
}

/** The one guard before any call to the Images binding: throws what Cloudflare would refuse. */
export function assertImagesInput(p: Probe, fileBytes: number): void {
  const refusal = imagesRefusal(p, fileBytes);
  if (refusal) throw new ImageError(refusal.code, refusal.why);
}
