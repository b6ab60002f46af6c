import hevcWasm from "../../wasm/hevc/hevc.wasm";
import jpegWasm from "../../wasm/jpeg-turbo/jpeg-turbo.wasm";
import { decodeAvif } from "../codecs/avif";
import { decodeGifFirstFrame, GifError } from "../codecs/gif";
import { HeifError } from "../codecs/heif/boxes";
import { heicDecodeBytes } from "../codecs/heif/estimate";
import { decodeHeicFit } from "../codecs/heif/heic";
import { HevcError } from "../codecs/hevc";
import { createJpegDecoder, JpegDecodeError } from "../codecs/jpeg-turbo";
import { decodePngFit, interlacedBytes, PngError } from "../codecs/png-stream";
import { decodeWebp, encodeWebp } from "../codecs/webp";
import { ImageError } from "./errors";
import { type PhotoMetadata, readHeifMetadata, readMetadata } from "./metadata";
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
 * WASM memory of the WebP encoder for a preview of this many pixels, measured in workerd
 * for previews from 800x600 to 1440x1080, smooth to noise: at most 31 bytes per pixel
 * opaque (16-40 MB at 1440x1080) and 46 with alpha (53-70 MB: the lossless alpha plane),
 * 16 MB at least.
 */
function encoderBytes(pixels: number, alpha: boolean): number {
  return Math.max(16 * MB, pixels * (alpha ? 46 : 31));
}

/**
 * What processing this image will cost at most, from its header alone: the larger of the
 * decode phase (input, the decoder's working memory, its output and the JS copy of it)
 * and the encode phase (input, what is left of the decode, the upright preview, the
 * thumb and the WebP encoder). Peaks measured by `processImage` must stay under it (a
 * test checks on the fixtures; `npm run bench:processor` prints both).
 */
export function estimateBytes(p: Probe, inputBytes: number): number {
  const fit = fitLongEdge(p.width, p.height, PREVIEW_EDGE);
  const previewBytes = fit.width * fit.height * 4;
  const thumb = fitLongEdge(fit.width, fit.height, THUMB_EDGE);
  const thumbBytes = thumb.width * thumb.height * 4;
  let decodePhase: number;
  // What the decode leaves alive besides the preview (WebP decodes full size first).
  let leftOver = 0;
  if (p.format === "jpeg") {
    // libjpeg scales by n/8 and the rows are averaged into the preview in WASM
    // (dr_decode_fit): the input copy, the preview-sized output, at most 16 rows of the
    // source width and the resize's float rows; a progressive JPEG also keeps every DCT
    // coefficient (2 bytes per sample) whatever the scale. Then the JS copy.
    const coefficients = p.progressive
      ? Math.ceil(p.width / 8) * Math.ceil(p.height / 8) * 64 * 2 * p.components
      : 0;
    const wasm = inputBytes + previewBytes + coefficients + p.width * 16 * 4 + 4 * MB;
    decodePhase = inputBytes + wasm + previewBytes;
  } else if (p.format === "png") {
    // Streamed in JS (codecs/png-stream.ts) into the preview-sized RowResizer: two raw
    // rows and one RGBA row of the source width, the resizer's float rows, the preview,
    // and 2 MB for the inflater's state and its chunks in flight. An interlaced PNG also
    // keeps its even rows, half the RGBA image, until the last Adam7 pass.
    const rawRow = Math.ceil((p.width * p.components * p.bitDepth) / 8) + 4;
    const rows = rawRow * 2 + p.width * 4 + fit.width * 16 * 4;
    const interlace = p.progressive ? interlacedBytes(p.width, p.height) + p.width * 2 : 0;
    decodePhase = inputBytes + rows + interlace + 2 * MB + previewBytes;
  } else if (p.format === "heic" && p.heif) {
    // Tile rows decoded one at a time into a band in WASM (codecs/heif/estimate.ts).
    decodePhase = inputBytes + heicDecodeBytes(p.heif, inputBytes, fit.width) + previewBytes;
  } else if (p.format === "gif") {
    // In JS: the frame's palette indices, then the RGBA screen (kept until the preview).
    const full = p.width * p.height * 4;
    decodePhase = inputBytes + p.width * p.height + full + MB;
    leftOver = full;
  } else if (p.format === "avif" && p.heif) {
    // jSquash's libavif + dav1d: the input copy, dav1d's frame (planes at up to 16 bits,
    // and its reference/film-grain buffers: ~3x the planes), the full-size RGBA in WASM,
    // the module's own 16 MB initial memory and ~8 MB of dav1d's fixed state, then the JS
    // copy; the full RGBA stays alive until the preview is made. (800x652 8-bit: 26.4 MB
    // measured at peak, 24.3 MB of it WASM.)
    const coded = p.heif.heif.primary;
    const full = coded.width * coded.height * 4;
    const planes = coded.width * coded.height * (p.bitDepth > 8 ? 2 : 1) * (p.hasAlpha ? 2.5 : 1.5);
    decodePhase = inputBytes + (inputBytes + planes * 3 + full + 24 * MB) + full;
    leftOver = full;
  } else {
    // jSquash's WebP decoder: the input copy and the full-size RGBA in WASM, then the JS copy.
    const full = p.width * p.height * 4;
    decodePhase = inputBytes + (inputBytes + full + 2 * MB) + full;
    leftOver = full;
  }
  // An EXIF rotation or mirror makes an upright copy of the preview.
  const encodePhase =
    inputBytes +
    leftOver +
    previewBytes * 2 +
    thumbBytes +
    encoderBytes(fit.width * fit.height, p.hasAlpha);
  return Math.max(decodePhase, encodePhase);
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
      : p.heif
        ? await readHeifMetadata(p.heif)
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
  };
}

function describeKind(p: Probe): string {
  if (p.format === "jpeg") return p.progressive ? "progressive JPEG" : "JPEG";
  if (p.format === "avif" || p.format === "heic")
    return `${p.bitDepth}-bit ${p.format.toUpperCase()}`;
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
  if (p.format === "heic" && p.heif) {
    // Tile by tile (or row by row from a single picture's planes) into the resizer.
    try {
      const r = decodeHeicFit(
        bytes,
        p.heif.heif,
        hevcWasm,
        (w, h) => fitLongEdge(w, h, PREVIEW_EDGE),
        budget.memoryBytes,
      );
      meter.note(bytes.byteLength + r.peakBytes);
      return r.value;
    } catch (err) {
      if (err instanceof HeifError || err instanceof HevcError) {
        const code =
          err.code === "too-large"
            ? "too_large"
            : err.code === "unsupported"
              ? "unsupported_format"
              : "corrupt";
        throw new ImageError(
          code,
          `The HEIC cannot be decoded: ${err.message.replace(/^The HEI[CF] /, "the ")}`,
        );
      }
      throw err;
    }
  }
  if (p.format === "png") {
    // Rows go from the inflater straight into the resizer: no full-size image, ever.
    try {
      const { value, peakBytes } = await decodePngFit(bytes, (w, h) =>
        fitLongEdge(w, h, PREVIEW_EDGE),
      );
      meter.note(bytes.byteLength + peakBytes);
      return value;
    } catch (err) {
      const why = err instanceof PngError ? err.message : String(err).slice(0, 120);
      throw new ImageError("corrupt", `The PNG cannot be decoded (${why})`);
    }
  }
  if (p.format === "gif") {
    try {
      const img = decodeGifFirstFrame(bytes);
      meter.note(bytes.byteLength + p.width * p.height + img.data.byteLength);
      return img;
    } catch (err) {
      if (err instanceof GifError)
        throw new ImageError("corrupt", `The GIF cannot be decoded: ${err.message}`);
      throw err;
    }
  }
  if (p.format === "avif" && p.heif) {
    const crop = p.heif.crop;
    let value: Rgba | null;
    try {
      const r = await decodeAvif(bytes);
      meter.note(bytes.byteLength + r.wasmBytes + (r.value?.data.byteLength ?? 0));
      value = r.value;
    } catch (err) {
      throw new ImageError("corrupt", `The AVIF cannot be decoded (${String(err).slice(0, 120)})`);
    }
    if (!value) throw new ImageError("corrupt", "The AVIF cannot be decoded");
    const coded = p.heif.heif.primary;
    if (value.width !== coded.width || value.height !== coded.height) {
      throw new ImageError(
        "corrupt",
        `The AVIF decodes to ${value.width}x${value.height} but its header says ${coded.width}x${coded.height}`,
      );
    }
    return cropRgba(value, crop);
  }
  try {
    const { value, wasmBytes } = await decodeWebp(bytes);
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

/** The clean-aperture part of a decoded image (a copy only when it is a strict part). */
function cropRgba(img: Rgba, c: { x: number; y: number; width: number; height: number }): Rgba {
  if (c.x === 0 && c.y === 0 && c.width === img.width && c.height === img.height) return img;
  const data = new Uint8ClampedArray(c.width * c.height * 4);
  for (let y = 0; y < c.height; y++) {
    const from = ((c.y + y) * img.width + c.x) * 4;
    data.set(img.data.subarray(from, from + c.width * 4), y * c.width * 4);
  }
  return { width: c.width, height: c.height, data };
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
    animated: p.animated === true,
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
