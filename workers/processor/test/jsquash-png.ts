// @jsquash/png (the Rust png crate in WASM), which the pipeline used before the streaming
// decoder: kept for tests, as the reference the streaming decoder's pixels must match.
import initPng, { decode as decodePngWasm } from "@jsquash/png/codec/pkg/squoosh_png.js";
import pngWasm from "@jsquash/png/codec/pkg/squoosh_png_bg.wasm?module";
import { ensureImageData } from "../src/codecs/emscripten";
import type { Rgba } from "../src/image/rgba";

let instance: Promise<unknown> | null = null;

export async function decodePngReference(bytes: Uint8Array): Promise<Rgba> {
  ensureImageData();
  instance ??= initPng(pngWasm);
  await instance;
  const img = decodePngWasm(bytes);
  return { width: img.width, height: img.height, data: new Uint8ClampedArray(img.data) };
}
