import avifDecFactory from "@jsquash/avif/codec/dec/avif_dec.js";
import avifDecWasm from "@jsquash/avif/codec/dec/avif_dec.wasm";
import type { Rgba } from "../image/rgba";
import { ensureImageData, type Factory, instantiate } from "./emscripten";
import { GAMUT_WASM_BYTES } from "./heif/estimate";
import { createHevcDecoder } from "./hevc";
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

/** libavif/dav1d asked for more memory than the decoder was allowed (`maxHeapBytes`). */
export class AvifMemoryError extends Error {
  override name = "AvifMemoryError";
}

/**
 * Decodes an AVIF's primary image to full-size RGBA in a fresh decoder instance (libavif
 * 1.x + dav1d from jSquash). libavif converts YUV (any depth, alpha included) to 8-bit RGBA
 * but applies none of HEIF's transforms: the caller crops (clap) and orients (irot/imir)
 * from its own parse of the container. `maxHeapBytes`: the instance's heap may not grow
 * past it (emscripten's resize hook refuses, malloc fails inside libavif/dav1d, and the
 * decode throws AvifMemoryError), as for WebP.
 */
export async function decodeAvif(
  bytes: Uint8Array,
  opts: { maxHeapBytes?: number } = {},
): Promise<Measured<Rgba | null>> {
  ensureImageData();
  const dec = await instantiate(decoderFactory, avifDecWasm, opts);
  let img: ReturnType<Decoder["decode"]>;
  try {
    img = dec.module.decode(bytes, 8);
  } catch (err) {
    // A refused growth may surface as an abort (a trap) rather than a failed decode.
    if (dec.capped()) throw new AvifMemoryError(capMessage(opts.maxHeapBytes));
    throw err;
  }
  if (dec.capped()) throw new AvifMemoryError(capMessage(opts.maxHeapBytes));
  const value = img
    ? {
        width: img.width,
        height: img.height,
        data: new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.byteLength),
      }
    : null;
  return { value, wasmBytes: dec.memoryBytes() };
}

const capMessage = (max: number | undefined) =>
  `libavif needs more than the ${max}-byte memory limit its header allowed`;

/** Bytes of RGBA copied through hevc.wasm per gamut call. */
const GAMUT_CHUNK_BYTES = 256 * 1024;

/**
 * Converts libavif's RGBA (P3 or BT.2020 primaries, sRGB transfer) in place to sRGB with
 * hevc.wasm's converter, the one HEIC's rows go through, a chunk at a time: no second
 * full-size buffer. Returns the converter's WASM bytes, for the memory meter.
 */
export function avifToSrgb(img: Rgba, gamut: Float32Array, hevcModule: WebAssembly.Module): number {
  const conv = createHevcDecoder(hevcModule, GAMUT_WASM_BYTES);
  conv.setColour(6, true, gamut);
  conv.gamutRgba(img.data, GAMUT_CHUNK_BYTES);
  return conv.memoryBytes();
}
