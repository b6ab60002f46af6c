import webpDecFactory from "@jsquash/webp/codec/dec/webp_dec.js";
import webpDecWasm from "@jsquash/webp/codec/dec/webp_dec.wasm";
import webpEncFactory from "@jsquash/webp/codec/enc/webp_enc_simd.js";
import webpEncWasm from "@jsquash/webp/codec/enc/webp_enc_simd.wasm";
import { defaultOptions } from "@jsquash/webp/meta.js";
import type { Rgba } from "../image/rgba";
import { ensureImageData, type Factory, instantiate } from "./emscripten";

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
  const out = enc.module.encode(img.data, img.width, img.height, {
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
