import avifDecFactory from "@jsquash/avif/codec/dec/avif_dec.js";
import avifDecWasm from "@jsquash/avif/codec/dec/avif_dec.wasm";
import type { Rgba } from "../image/rgba";
import { ensureImageData, type Factory, instantiate } from "./emscripten";
import type { Measured } from "./webp";

type Decoder = {
  /** libavif + dav1d (squoosh's build): the primary image, 8-bit RGBA, or null. */
  decode(
    data: BufferSource,
    bitDepth: number,
  ): { width: number; height: number; data: Uint8ClampedArray } | null;
};
// As for WebP: the callback receives the Instance (see ./emscripten).
const decoderFactory = avifDecFactory as unknown as Factory<Decoder>;

/**
 * Decodes an AVIF's primary image to full-size RGBA in a fresh decoder instance (libavif
 * 1.x + dav1d from jSquash). libavif converts YUV (any depth, alpha included) to 8-bit RGBA
 * but applies none of HEIF's transforms: the caller crops (clap) and orients (irot/imir)
 * from its own parse of the container.
 */
export async function decodeAvif(bytes: Uint8Array): Promise<Measured<Rgba | null>> {
  ensureImageData();
  const dec = await instantiate(decoderFactory, avifDecWasm);
  const img = dec.module.decode(bytes, 8);
  const value = img
    ? {
        width: img.width,
        height: img.height,
        data: new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.byteLength),
      }
    : null;
  return { value, wasmBytes: dec.memoryBytes() };
}
