// workerd refuses to compile WebAssembly from bytes at run time (no
// `WebAssembly.instantiate(bytes)`): the bundler (wrangler's and vitest's alike) turns
// this import into a compiled `WebAssembly.Module`, which the codec instantiates.
import webpDecoderWasm from "@jsquash/webp/codec/dec/webp_dec.wasm";
import decodeWebp, { init } from "@jsquash/webp/decode.js";

export type Rgba = { width: number; height: number; data: Uint8ClampedArray };

export class UndecodableThumb extends Error {}

let ready: Promise<void> | undefined;

function initOnce(): Promise<void> {
  ready ??= init({
    instantiateWasm(imports: WebAssembly.Imports, done: (instance: WebAssembly.Instance) => void) {
      const instance = new WebAssembly.Instance(webpDecoderWasm, imports);
      done(instance);
      return instance.exports;
    },
  });
  return ready;
}

/** Decodes a WebP thumb to RGBA; throws `UndecodableThumb` for bytes libwebp refuses. */
export async function decodeThumb(bytes: ArrayBuffer): Promise<Rgba> {
  await initOnce();
  try {
    const image = await decodeWebp(bytes);
    return { width: image.width, height: image.height, data: image.data };
  } catch (err) {
    throw new UndecodableThumb(`the thumb is not a decodable WebP: ${String(err)}`);
  }
}
