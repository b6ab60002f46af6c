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
import { decodePngFit, PngError, PngLimitError } from "../codecs/png-stream";
import { decodeWebp, type WebpFrame, WebpMemoryError, webpFirstFrame } from "../codecs/webp";
import { ImageError } from "./errors";
import { jpegLibraryBytes, webpHeapBytes } from "./estimate";
import { JPEG_MAX_SCANS } from "./limits";
import type { PeakMeter } from "./peak-meter";
import type { Probe } from "./probe";
import { fitLongEdge } from "./resize";
import type { Rgba } from "./rgba";
import { PREVIEW_EDGE } from "./variants";

/**
 * The original decoded to at most the preview's size, by the decoder of its format, each
 * decoder's errors turned into the ImageError the queue settles the asset with. The meter
 * records what each decoder held at its peak.
 */
export async function decode(bytes: Uint8Array, p: Probe, meter: PeakMeter): Promise<Rgba> {
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
