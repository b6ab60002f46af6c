import av1Wasm from "../../wasm/av1/av1.wasm";
import hevcWasm from "../../wasm/hevc/hevc.wasm";
import jpegWasm from "../../wasm/jpeg-turbo/jpeg-turbo.wasm";
import { Av1Error } from "../codecs/av1";
import { decodeGifFirstFrame, GifError } from "../codecs/gif";
import { decodeAvifFit } from "../codecs/heif/avif";
import { HeifError } from "../codecs/heif/errors";
import { avifDecodeBytes, heicDecodeBytes } from "../codecs/heif/estimate";
import { decodeHeicFit } from "../codecs/heif/heic";
import { HevcError } from "../codecs/hevc";
import { createJpegDecoder, JpegDecodeError } from "../codecs/jpeg-turbo";
import { decodePngFit, PngError, PngLimitError, pngExif } from "../codecs/png-stream";
import {
  decodeWebp,
  encodeWebp,
  type WebpFrame,
  WebpMemoryError,
  webpExif,
  webpFirstFrame,
} from "../codecs/webp";
import { ImageError } from "./errors";
import { estimateBytes, jpegLibraryBytes, webpHeapBytes } from "./estimate";
import { assertImagesInput, imagesRefusal } from "./images-input";
import { JPEG_MAX_SCANS } from "./limits";
import { type PhotoMetadata, readHeifMetadata, readMetadata, readTiffMetadata } from "./metadata";
import { orient } from "./orient";
import { PrefixTooShort, type Probe, probe } from "./probe";
import { downscale, fitLongEdge } from "./resize";
import type { Rgba } from "./rgba";
import { PREVIEW_EDGE, PREVIEW_QUALITY, THUMB_EDGE, THUMB_QUALITY, WEBP_EFFORT } from "./variants";

export { estimateBytes } from "./estimate";
export { PREVIEW_EDGE, PREVIEW_QUALITY, THUMB_EDGE, THUMB_QUALITY, WEBP_EFFORT } from "./variants";

export type Budget = {
  /** Hard cap on width x height, checked from the header before anything else. */
  maxPixels: number;
  /** Peak of WASM memories + live pixel buffers one image may use. */
  memoryBytes: number;
};

export const DEFAULT_BUDGET: Budget = { maxPixels: 100_000_000, memoryBytes: 100 * 1024 * 1024 };

export type Variant = { bytes: Uint8Array; width: number; height: number };

export type Processed = {
  format: Probe["format"];
  /** More than one frame (GIF): the variants show the first. */
  animated: boolean;
  /** Upright dimensions of the original (after EXIF orientation). */
  width: number;
  height: number;
  metadata: PhotoMetadata;
  preview: Variant;
  thumb: Variant;
  /** Measured peak bytes: WASM memories alive + JS pixel buffers alive, at each step. */
  peakBytes: number;
  /** The estimate the budget check used. */
  estimatedBytes: number;
  path: "wasm" | "images";
  /** Damage the decoder forgave as libvips does (a PNG cut off after its rows…), to log. */
  warnings: string[];
};

/** Transforms the Images binding offers (declared structurally: only what is used). */
export interface ImagesLike {
  input(stream: ReadableStream<Uint8Array>): {
    transform(t: { width: number; height: number; fit: "scale-down" }): {
      output(o: { format: "image/webp"; quality: number }): Promise<{ response(): Response }>;
    };
  };
}

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
  path: Processed["path"];
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

/** Bytes of the distinct buffers given (the same pixels are often reused, never copied). */
function distinctBytes(...views: ArrayBufferView[]): number {
  const seen = new Set<ArrayBufferLike>();
  let total = 0;
  for (const v of views) {
    if (seen.has(v.buffer)) continue;
    seen.add(v.buffer);
    total += v.byteLength;
  }
  return total;
}

class PeakMeter {
  peak = 0;
  /** What the decoder forgave on the way (the decode's one other side channel). */
  warnings: string[] = [];
  note(bytes: number) {
    if (bytes > this.peak) this.peak = bytes;
  }
}

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
  const swap = metadata.orientation >= 5;
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
    format: p.format,
    animated: p.animated === true,
    width: swap ? p.height : p.width,
    height: swap ? p.width : p.height,
    metadata,
    preview: { bytes: preview.value, width: previewPx.width, height: previewPx.height },
    thumb: { bytes: thumb.value, width: thumbPx.width, height: thumbPx.height },
    peakBytes: meter.peak,
    estimatedBytes,
    path: "wasm",
    warnings: meter.warnings,
  };
}

/**
 * Orientation, capture time and camera from wherever the container keeps EXIF: JPEG's
 * APP1, PNG's eXIf, WebP's EXIF chunk; HEIF's transforms (irot/imir) for orientation. GIF
 * carries none.
 */
async function metadataOf(bytes: Uint8Array, p: Probe): Promise<PhotoMetadata> {
  if (p.format === "jpeg") return readMetadata(bytes);
  if (p.heif) return readHeifMetadata(p.heif);
  if (p.format === "png") return readTiffMetadata(pngExif(bytes));
  if (p.format === "webp") return readTiffMetadata(webpExif(bytes));
  return readTiffMetadata(null);
}

function describeKind(p: Probe): string {
  if (p.format === "jpeg") return p.progressive ? "progressive JPEG" : "JPEG";
  if (p.format === "avif" || p.format === "heic")
    return `${p.bitDepth}-bit ${p.format.toUpperCase()}`;
  return p.format.toUpperCase();
}

async function decode(bytes: Uint8Array, p: Probe, meter: PeakMeter): Promise<Rgba> {
  if (p.format === "jpeg") {
    // The decoder refuses what the probe did not foresee: libjpeg allocating more than the
    // estimate gave it (a file laid out otherwise than its header said) and more scans
    // than the probe counted (checked while it runs, by libjpeg's progress monitor).
    const fit = fitLongEdge(p.width, p.height, PREVIEW_EDGE);
    const decoder = createJpegDecoder(jpegWasm, {
      maxMemoryBytes: Math.max(jpegLibraryBytes(p, fit), fit.width * fit.height * 4),
      maxScans: Math.max(1, p.jpeg?.scans ?? JPEG_MAX_SCANS),
    });
    try {
      const img =
        fit.width === p.width && fit.height === p.height
          ? decoder.decode(bytes, 1)
          : decoder.decodeFit(bytes, fit.width, fit.height);
      meter.note(bytes.byteLength + decoder.memoryBytes() + img.data.byteLength);
      return { width: img.width, height: img.height, data: img.data };
    } catch (err) {
      if (err instanceof JpegDecodeError) {
        if (err.code === "corrupt" || err.code === "not-jpeg" || err.code === "trap") {
          throw new ImageError("corrupt", `The JPEG cannot be decoded: ${err.message}`);
        }
        if (err.code === "unsupported") throw new ImageError("unsupported_format", err.message);
        if (err.code === "too-large") throw new ImageError("too_large", err.message);
      }
      throw err;
    }
  }
  if ((p.format === "heic" || p.format === "avif") && p.heif) {
    // Tile by tile (or row by row from a single picture's planes) into the resizer, every
    // coded image's parameter set or sequence header checked against the container first;
    // the decoder may not grow past what the estimate gave it.
    const { name, decodeFit, wasm, decodeBytes, CodecError } = HEIF_DECODERS[p.format];
    try {
      const r = decodeFit(
        bytes,
        p.heif.heif,
        wasm,
        (w, h) => fitLongEdge(w, h, PREVIEW_EDGE),
        decodeBytes(p.heif, bytes.byteLength, p.width),
      );
      meter.note(bytes.byteLength + r.peakBytes);
      return r.value;
    } catch (err) {
      if (err instanceof HeifError || err instanceof CodecError) throw heifDecodeError(name, err);
      throw err;
    }
  }
  if (p.format === "png") {
    // Rows go from the inflater straight into the resizer: no full-size image, ever.
    try {
      const { value, peakBytes, warnings } = await decodePngFit(bytes, (w, h) =>
        fitLongEdge(w, h, PREVIEW_EDGE),
      );
      meter.note(bytes.byteLength + peakBytes);
      meter.warnings.push(...warnings.map((w) => `PNG: ${w}`));
      return value;
    } catch (err) {
      if (err instanceof PngLimitError)
        throw new ImageError("too_large", `The PNG has ${err.message}`);
      const why = err instanceof PngError ? err.message : String(err).slice(0, 120);
      throw new ImageError("corrupt", `The PNG cannot be decoded (${why})`);
    }
  }
  if (p.format === "gif") {
    try {
      const warnings: string[] = [];
      const { scratchBytes, ...img } = decodeGifFirstFrame(bytes, warnings);
      meter.warnings.push(...warnings.map((w) => `GIF: ${w}`));
      meter.note(bytes.byteLength + scratchBytes + img.data.byteLength);
      return img;
    } catch (err) {
      if (err instanceof GifError)
        throw new ImageError("corrupt", `The GIF cannot be decoded: ${err.message}`);
      throw err;
    }
  }
  try {
    // Animated: the first frame, decoded as a still and drawn on its canvas (the policy
    // for every animated format: the first frame, and the asset says it was animated).
    const frame = p.animated ? webpFirstFrame(bytes, p) : null;
    // The decoder refuses to grow past what the estimate gave it.
    const { value, wasmBytes } = await decodeWebp(frame ? frame.still : bytes, {
      maxHeapBytes: webpHeapBytes(p, bytes.byteLength),
    });
    if (!value) throw new ImageError("corrupt", `The ${p.format.toUpperCase()} cannot be decoded`);
    const still = frame?.still.byteLength ?? 0;
    meter.note(bytes.byteLength + still + wasmBytes + value.data.byteLength);
    if (!frame) return value;
    const canvas = placeOnCanvas(value, frame, p);
    meter.note(bytes.byteLength + still + value.data.byteLength + canvas.data.byteLength);
    return canvas;
  } catch (err) {
    if (err instanceof ImageError) throw err;
    if (err instanceof WebpMemoryError)
      throw new ImageError(
        "too_large",
        `The WebP cannot be decoded within its memory estimate (${err.message})`,
      );
    // Decoders trap or throw on damaged data; the header was fine, the body is not.
    throw new ImageError(
      "corrupt",
      `The ${p.format.toUpperCase()} cannot be decoded (${String(err).slice(0, 120)})`,
    );
  }
}

/** The two HEIF codecs: their row decoder, its WASM, its memory estimate, its error type. */
const HEIF_DECODERS = {
  heic: {
    name: "HEIC",
    decodeFit: decodeHeicFit,
    wasm: hevcWasm,
    decodeBytes: heicDecodeBytes,
    CodecError: HevcError,
  },
  avif: {
    name: "AVIF",
    decodeFit: decodeAvifFit,
    wasm: av1Wasm,
    decodeBytes: avifDecodeBytes,
    CodecError: Av1Error,
  },
} as const;

/** A HEIC/AVIF decoder's error as the ImageError the queue settles the asset with. */
function heifDecodeError(
  name: "HEIC" | "AVIF",
  err: { code: string; message: string },
): ImageError {
  const code =
    err.code === "too-large"
      ? "too_large"
      : err.code === "unsupported"
        ? "unsupported_format"
        : "corrupt";
  return new ImageError(
    code,
    `The ${name} cannot be decoded: ${err.message.replace(/^The (HEI[CF]|AVIF) /, "the ")}`,
  );
}

/** A frame on a transparent canvas of the probe's size (the frame itself when it fills it). */
function placeOnCanvas(img: Rgba, f: WebpFrame, canvas: { width: number; height: number }): Rgba {
  if (img.width !== f.width || img.height !== f.height)
    throw new ImageError("corrupt", "The WebP's first frame is not the size its header says");
  if (f.x === 0 && f.y === 0 && f.width === canvas.width && f.height === canvas.height) return img;
  const data = new Uint8ClampedArray(canvas.width * canvas.height * 4);
  for (let y = 0; y < f.height; y++) {
    const from = y * f.width * 4;
    data.set(img.data.subarray(from, from + f.width * 4), ((f.y + y) * canvas.width + f.x) * 4);
  }
  return { width: canvas.width, height: canvas.height, data };
}

async function viaImages(
  bytes: Uint8Array,
  p: Probe,
  metadata: PhotoMetadata,
  estimatedBytes: number,
  images: ImagesLike,
): Promise<Processed> {
  assertImagesInput(p, bytes.byteLength);
  const make = async (edge: number, quality: number): Promise<Variant> => {
    const stream = new Blob([bytes]).stream();
    const out = await images
      .input(stream)
      .transform({ width: edge, height: edge, fit: "scale-down" })
      .output({ format: "image/webp", quality });
    const webp = new Uint8Array(await out.response().arrayBuffer());
    const dims = probe(webp);
    return { bytes: webp, width: dims.width, height: dims.height };
  };
  const preview = await make(PREVIEW_EDGE, PREVIEW_QUALITY);
  const thumb = await make(THUMB_EDGE, THUMB_QUALITY);
  const swap = metadata.orientation >= 5;
  return {
    format: p.format,
    animated: p.animated === true,
    width: swap ? p.height : p.width,
    height: swap ? p.width : p.height,
    metadata,
    preview,
    thumb,
    peakBytes: bytes.byteLength + preview.bytes.byteLength + thumb.bytes.byteLength,
    estimatedBytes,
    path: "images",
    warnings: [],
  };
}
