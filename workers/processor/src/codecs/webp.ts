import webpDecFactory from "@jsquash/webp/codec/dec/webp_dec.js";
import webpDecWasm from "@jsquash/webp/codec/dec/webp_dec.wasm";
import webpEncWasm from "@jsquash/webp/codec/enc/webp_enc_simd.wasm";
import { defaultOptions } from "@jsquash/webp/meta.js";
import type { Rgba } from "../image/rgba";
import { ensureImageData, type Factory, instantiate } from "./emscripten";
// jSquash's encoder glue with its byte-by-byte copy of the image into WASM memory replaced
// by one `set` (scripts/vendor-webp-glue.mjs; the same bytes, ~15 ms less per preview).
import webpEncFactory from "./vendor/webp-enc-simd.js";

type EncodeOptions = typeof defaultOptions;
type Encoder = {
  encode(data: BufferSource, w: number, h: number, o: EncodeOptions): Uint8Array | null;
};
type Decoder = {
  decode(data: BufferSource): { width: number; height: number; data: Uint8ClampedArray } | null;
};
// jSquash's typings say emscripten's instantiate callback receives a Module; it receives
// the Instance (see ./emscripten). The factories themselves are what the types say.
const encoderFactory = webpEncFactory as unknown as Factory<Encoder>;
const decoderFactory = webpDecFactory as unknown as Factory<Decoder>;

export type Measured<T> = { value: T; wasmBytes: number };

/**
 * Encodes RGBA as WebP (lossy unless `options` say otherwise) in a fresh encoder instance
 * (its memory is returned).
 */
export async function encodeWebp(
  img: Rgba,
  quality: number,
  effort = 4,
  options: Partial<EncodeOptions> = {},
): Promise<Measured<Uint8Array>> {
  const enc = await instantiate(encoderFactory, webpEncWasm);
  // A Uint8Array view: the glue's copy into WASM memory is then a plain memmove (from a
  // Uint8ClampedArray, V8 converts element by element).
  const data = new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  const out = enc.module.encode(data, img.width, img.height, {
    ...defaultOptions,
    ...options,
    quality,
    method: effort,
  });
  if (!out) throw new Error("WebP encoding failed");
  // Copy out of the instance's memory so nothing keeps it alive.
  return { value: out.slice(), wasmBytes: enc.memoryBytes() };
}

/** libwebp asked for more memory than the decoder was allowed (`maxHeapBytes`). */
export class WebpMemoryError extends Error {
  override name = "WebpMemoryError";
}

/**
 * Decodes a still WebP to RGBA in a fresh decoder instance. `maxHeapBytes`: refuse to grow
 * the instance's memory past this (WebpMemoryError), so a bitstream that needs more than
 * its header announced fails instead of growing the isolate.
 */
export async function decodeWebp(
  bytes: Uint8Array,
  opts: { maxHeapBytes?: number } = {},
): Promise<Measured<Rgba | null>> {
  ensureImageData();
  const dec = await instantiate(decoderFactory, webpDecWasm, opts);
  const img = dec.module.decode(bytes);
  if (dec.capped()) {
    throw new WebpMemoryError(
      `libwebp needs more than the ${opts.maxHeapBytes}-byte memory limit its header allowed`,
    );
  }
  // jSquash already copies the pixels out of WASM memory (new Uint8ClampedArray(view)):
  // copy again only if a build hands back a view, never keep two JS copies of a full image.
  const value = img
    ? {
        width: img.width,
        height: img.height,
        data: dec.inMemory(img.data) ? img.data.slice() : img.data,
      }
    : null;
  return { value, wasmBytes: dec.memoryBytes() };
}

const fourcc = (b: Uint8Array, i: number) =>
  String.fromCharCode(b[i] ?? 0, b[i + 1] ?? 0, b[i + 2] ?? 0, b[i + 3] ?? 0);
const u24le = (b: Uint8Array, i: number) =>
  (b[i] ?? 0) | ((b[i + 1] ?? 0) << 8) | ((b[i + 2] ?? 0) << 16);
const u32le = (b: Uint8Array, i: number) => (u24le(b, i) + (b[i + 3] ?? 0) * 0x1000000) >>> 0;

/**
 * The chunks of a RIFF WebP from `from` (12: after "RIFF" size "WEBP") to the end of the
 * RIFF or the bytes, whichever comes first; a chunk running past it ends the walk. Every
 * step moves at least 8 bytes, so a walk costs at most one pass over the file.
 */
function* riffChunks(
  b: Uint8Array,
  from = 12,
  to = Math.min(b.length, u32le(b, 4) + 8),
): Generator<{ type: string; data: Uint8Array; at: number }> {
  for (let pos = from; pos + 8 <= to; ) {
    const len = u32le(b, pos + 4);
    if (pos + 8 + len > to) return;
    yield { type: fourcc(b, pos), data: b.subarray(pos + 8, pos + 8 + len), at: pos };
    pos += 8 + len + (len & 1);
  }
}

/**
 * The EXIF chunk of an extended (VP8X) WebP as a TIFF block, or null. Some writers start
 * it with JPEG's "Exif\0\0" header; libwebp and libvips read it either way.
 */
export function webpExif(b: Uint8Array): Uint8Array | null {
  if (fourcc(b, 12) !== "VP8X") return null;
  for (const c of riffChunks(b)) {
    if (c.type !== "EXIF") continue;
    return fourcc(c.data, 0) === "Exif" ? c.data.subarray(6) : c.data;
  }
  return null;
}

/** An animated WebP's first frame as a still WebP, and where it goes on the canvas. */
export type WebpFrame = { still: Uint8Array; x: number; y: number; width: number; height: number };

/**
 * An animated WebP's first ANMF frame, re-wrapped as a still extended WebP (VP8X + the
 * frame's ALPH / VP8 / VP8L chunks as they are) that libwebp's still decoder takes, with
 * its offset on the canvas. libvips (WebPAnimDecoder) draws it on a transparent canvas,
 * blended over nothing, so the frame's own pixels are what shows. Throws Error for a
 * frame that does not fit the canvas or holds no image.
 */
export function webpFirstFrame(
  b: Uint8Array,
  canvas: { width: number; height: number },
): WebpFrame {
  for (const c of riffChunks(b)) {
    if (c.type !== "ANMF") continue;
    const d = c.data;
    if (d.length < 16) throw new Error("the first animation frame is cut short");
    const x = u24le(d, 0) * 2;
    const y = u24le(d, 3) * 2;
    const width = u24le(d, 6) + 1;
    const height = u24le(d, 9) + 1;
    if (x + width > canvas.width || y + height > canvas.height)
      throw new Error("the first animation frame lies outside the canvas");
    let alpha = false;
    let image = false;
    let bytes = 0;
    const inner: Uint8Array[] = [];
    for (const f of riffChunks(d, 16, d.length)) {
      if (f.type !== "ALPH" && f.type !== "VP8 " && f.type !== "VP8L") continue;
      alpha ||= f.type !== "VP8 ";
      image ||= f.type !== "ALPH";
      const chunk = d.subarray(f.at, f.at + 8 + f.data.length + (f.data.length & 1));
      inner.push(chunk);
      bytes += chunk.length;
      if (f.type !== "ALPH") break;
    }
    if (!image) throw new Error("the first animation frame holds no image");
    const still = new Uint8Array(12 + 18 + bytes);
    const view = new DataView(still.buffer);
    still.set([0x52, 0x49, 0x46, 0x46], 0); // RIFF
    view.setUint32(4, still.length - 8, true);
    still.set([0x57, 0x45, 0x42, 0x50, 0x56, 0x50, 0x38, 0x58], 8); // WEBP VP8X
    view.setUint32(16, 10, true);
    still[20] = alpha ? 0x10 : 0;
    still.set([(width - 1) & 255, ((width - 1) >> 8) & 255, (width - 1) >> 16], 24);
    still.set([(height - 1) & 255, ((height - 1) >> 8) & 255, (height - 1) >> 16], 27);
    let at = 30;
    for (const chunk of inner) {
      still.set(chunk, at);
      at += chunk.length;
    }
    return { still, x, y, width, height };
  }
  throw new Error("the animation has no frame");
}
