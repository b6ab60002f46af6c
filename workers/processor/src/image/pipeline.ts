import jpegWasm from "../../wasm/jpeg-turbo/jpeg-turbo.wasm";
import { createJpegDecoder, JpegDecodeError } from "../codecs/jpeg-turbo";
import { decodePng } from "../codecs/png";
import { decodeWebp, encodeWebp } from "../codecs/webp";
import { ImageError } from "./errors";
import { type PhotoMetadata, readMetadata } from "./metadata";
import { orient } from "./orient";
import { type Probe, probe } from "./probe";
import { downscale, fitLongEdge } from "./resize";
import type { Rgba } from "./rgba";

export const PREVIEW_EDGE = 1440;
export const THUMB_EDGE = 320;
export const PREVIEW_QUALITY = 80;
export const THUMB_QUALITY = 75;
/** libwebp `method` (0 fast .. 6 slow); 4 is its default and what the sharp peer uses. */
export const WEBP_EFFORT = 4;

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

/**
 * What decoding this image will cost at most, from its header alone: the input bytes,
 * the decoder's WASM memory (output + working set; a progressive JPEG keeps every DCT
 * coefficient, 2 bytes per sample), the JS copy of the decoded pixels, and the variants.
 */
export function estimateBytes(p: Probe, inputBytes: number): number {
  const previewPx = (() => {
    const f = fitLongEdge(p.width, p.height, PREVIEW_EDGE);
    return f.width * f.height * 4;
  })();
  const encoderWorkingSet = 24 * MB;
  let decoded: number;
  let wasm: number;
  if (p.format === "jpeg") {
    // The decoder hands back the preview itself (n/8 DCT scaling + a row-streaming
    // resize in WASM), so the decoded image is preview-sized.
    decoded = previewPx;
    const coefficients = p.progressive
      ? Math.ceil(p.width / 8) * Math.ceil(p.height / 8) * 64 * 2 * p.components
      : 0;
    // Baseline decodes stream through a few MCU rows of buffers (at most 16 rows of the
    // scaled width), plus the resize's float rows.
    wasm = inputBytes + decoded + coefficients + p.width * 16 * 4 + 4 * MB;
  } else {
    decoded = p.width * p.height * 4;
    if (p.format === "png") {
      // Measured (npm run bench:processor): the PNG decoder's memory peaks at about five
      // times the RGBA size (inflate buffers, the filtered image, the RGBA output, and
      // growth by doubling), e.g. 77 MB all told for a 2048x1536 RGBA PNG.
      wasm = inputBytes * 2 + decoded * 6 + 2 * MB;
    } else {
      wasm = inputBytes + decoded + 2 * MB;
    }
  }
  // JS copy of the decode, the preview and thumb, then the encoder.
  return Math.max(wasm + decoded, inputBytes + decoded + previewPx * 2 + encoderWorkingSet);
}

class PeakMeter {
  peak = 0;
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
  const p = probe(bytes);
  const pixels = p.width * p.height;
  if (pixels > budget.maxPixels) {
    throw new ImageError(
      "too_large",
      `${p.width}x${p.height} is ${(pixels / 1e6).toFixed(1)} MP; the limit is ${(budget.maxPixels / 1e6).toFixed(0)} MP`,
    );
  }
  const estimatedBytes = estimateBytes(p, bytes.byteLength);
  const metadata =
    p.format === "jpeg"
      ? await readMetadata(bytes)
      : { orientation: 1, takenAt: null, make: null, model: null };
  if (estimatedBytes > budget.memoryBytes) {
    if (opts.images) return viaImages(bytes, p, metadata, estimatedBytes, opts.images);
    throw new ImageError(
      "too_large",
      `${p.width}x${p.height} ${describeKind(p)} needs about ${Math.ceil(estimatedBytes / MB)} MB to process; the limit is ${Math.floor(budget.memoryBytes / MB)} MB`,
    );
  }

  const meter = new PeakMeter();
  const decoded = await decode(bytes, p, meter, budget);
  const swap = metadata.orientation >= 5;
  let live = bytes.byteLength + decoded.data.byteLength;
  const previewPx = orient(downscale(decoded, PREVIEW_EDGE), metadata.orientation);
  live += previewPx.data.byteLength * 2;
  meter.note(live);
  const thumbPx = downscale(previewPx, THUMB_EDGE);
  const preview = await encodeWebp(previewPx, PREVIEW_QUALITY, WEBP_EFFORT);
  meter.note(live + preview.wasmBytes);
  const thumb = await encodeWebp(thumbPx, THUMB_QUALITY, WEBP_EFFORT);
  meter.note(
    bytes.byteLength + previewPx.data.byteLength + thumbPx.data.byteLength + thumb.wasmBytes,
  );
  return {
    format: p.format,
    width: swap ? p.height : p.width,
    height: swap ? p.width : p.height,
    metadata,
    preview: { bytes: preview.value, width: previewPx.width, height: previewPx.height },
    thumb: { bytes: thumb.value, width: thumbPx.width, height: thumbPx.height },
    peakBytes: meter.peak,
    estimatedBytes,
    path: "wasm",
  };
}

function describeKind(p: Probe): string {
  if (p.format === "jpeg") return p.progressive ? "progressive JPEG" : "JPEG";
  return p.format.toUpperCase();
}

async function decode(
  bytes: Uint8Array,
  p: Probe,
  meter: PeakMeter,
  budget: Budget,
): Promise<Rgba> {
  if (p.format === "jpeg") {
    // Defence in depth behind the estimate: libjpeg itself refuses to allocate past it.
    const decoder = createJpegDecoder(jpegWasm, { maxMemoryBytes: budget.memoryBytes });
    const fit = fitLongEdge(p.width, p.height, PREVIEW_EDGE);
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
  try {
    const { value, wasmBytes } =
      p.format === "png" ? await decodePng(bytes) : await decodeWebp(bytes);
    if (!value) throw new ImageError("corrupt", `The ${p.format.toUpperCase()} cannot be decoded`);
    meter.note(bytes.byteLength + wasmBytes + value.data.byteLength);
    return value;
  } catch (err) {
    if (err instanceof ImageError) throw err;
    // Decoders trap or throw on damaged data; the header was fine, the body is not.
    throw new ImageError(
      "corrupt",
      `The ${p.format.toUpperCase()} cannot be decoded (${String(err).slice(0, 120)})`,
    );
  }
}

async function viaImages(
  bytes: Uint8Array,
  p: Probe,
  metadata: PhotoMetadata,
  estimatedBytes: number,
  images: ImagesLike,
): Promise<Processed> {
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
    width: swap ? p.height : p.width,
    height: swap ? p.width : p.height,
    metadata,
    preview,
    thumb,
    peakBytes: bytes.byteLength + preview.bytes.byteLength + thumb.bytes.byteLength,
    estimatedBytes,
    path: "images",
  };
}
