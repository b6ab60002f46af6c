import { type Budget, DEFAULT_BUDGET } from "./budget";
import { ImageError } from "./errors";
import { estimateBytes } from "./estimate";
import { imagesRefusal } from "./images-input";
import { PrefixTooShort, type Probe, probe } from "./probe";
import type { ProcessPath } from "./processed";

const MB = 1024 * 1024;
/** What an image sent to the Images binding holds here: its bytes, a copy for the request
 * body, and the two variants (well under a megabyte each). */
const IMAGES_PATH_EXTRA = 2 * MB;

/**
 * How much of an original the processor reads to plan it before it queues for memory:
 * JPEG metadata (EXIF, ICC, XMP) before the first scan rarely reaches this, PNG's tRNS
 * and WebP's header always fit, and what lies past it is assumed at its worst.
 */
export const PLAN_PREFIX_BYTES = 256 * 1024;

/** How an image will be processed and what it may cost, decided from its header. */
export type Plan = {
  probe: Probe;
  /** The memory estimate (estimateBytes) of processing it here. */
  estimatedBytes: number;
  path: ProcessPath;
  /** What it holds at most while processed, on the path it takes: what the lane admits. */
  peakBytes: number;
};

/**
 * Decides from the header (`bytes` may be the start of a `fileBytes`-long file; see
 * `probe`) how the image is processed, before anything is decoded: over the pixel cap it
 * is refused; over the memory budget it goes to the Images binding when there is one and
 * Cloudflare's Images would take it (images-input.ts), and is refused otherwise
 * (`too_large`, the message saying both why: over the budget, and what Images would not
 * take, e.g. any AVIF). Throws ImageError.
 */
export function planImage(
  bytes: Uint8Array,
  fileBytes: number,
  opts: { budget?: Budget; images?: boolean } = {},
): Plan {
  const budget = opts.budget ?? DEFAULT_BUDGET;
  const p = probe(bytes, fileBytes);
  const pixels = p.width * p.height;
  if (pixels > budget.maxPixels) {
    throw new ImageError(
      "too_large",
      `${p.width}x${p.height} is ${(pixels / 1e6).toFixed(1)} MP; the limit is ${(budget.maxPixels / 1e6).toFixed(0)} MP`,
    );
  }
  const estimatedBytes = estimateBytes(p, fileBytes);
  if (estimatedBytes <= budget.memoryBytes)
    return { probe: p, estimatedBytes, path: "wasm", peakBytes: estimatedBytes };
  const overBudget = `${p.width}x${p.height} ${describeKind(p)} needs about ${Math.ceil(estimatedBytes / MB)} MB to process; the limit is ${Math.floor(budget.memoryBytes / MB)} MB`;
  if (!opts.images) throw new ImageError("too_large", overBudget);
  // Only what Cloudflare's Images would transform goes there (images-input.ts): the local
  // binding is more lenient, and a photo must not succeed here and fail in production.
  const refusal = imagesRefusal(p, fileBytes);
  // too_large even for a format Images does not read: the same photo smaller decodes here.
  if (refusal) throw new ImageError("too_large", `${overBudget}, and ${refusal.why}`);
  return {
    probe: p,
    estimatedBytes,
    path: "images",
    peakBytes: fileBytes * 2 + IMAGES_PATH_EXTRA,
  };
}

/**
 * What the processing lane must set aside for an image before its whole original is read,
 * from the start of it (`prefix`, of a `fileBytes`-long file): the peak of the path its
 * plan takes, or the whole budget when the prefix cannot tell (the image then runs alone
 * and is planned again from the whole file). Throws ImageError for a file the prefix
 * already shows is refused.
 */
export function laneBytes(
  prefix: Uint8Array,
  fileBytes: number,
  opts: { budget?: Budget; images?: boolean } = {},
): number {
  const budget = opts.budget ?? DEFAULT_BUDGET;
  try {
    return planImage(prefix, fileBytes, opts).peakBytes;
  } catch (err) {
    if (err instanceof PrefixTooShort) return budget.memoryBytes;
    throw err;
  }
}

function describeKind(p: Probe): string {
  if (p.format === "jpeg") return p.progressive ? "progressive JPEG" : "JPEG";
  if (p.format === "avif" || p.format === "heic")
    return `${p.bitDepth}-bit ${p.format.toUpperCase()}`;
  return p.format.toUpperCase();
}
