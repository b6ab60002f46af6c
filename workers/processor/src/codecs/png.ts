import initPng, { decode as decodePngWasm } from "@jsquash/png/codec/pkg/squoosh_png.js";
import pngWasm from "@jsquash/png/codec/pkg/squoosh_png_bg.wasm?module";
import type { Rgba } from "../image/rgba";
import { ensureImageData } from "./emscripten";

type PngModule = { memory: WebAssembly.Memory };
let instance: Promise<PngModule> | null = null;

/**
 * Decodes a PNG (any bit depth, palette, grey, alpha; 16-bit is reduced to 8) to RGBA.
 * The wasm-bindgen glue keeps one instance per isolate, so its memory stays at the
 * largest PNG seen: the pipeline's budget check keeps that bounded.
 */
export async function decodePng(bytes: Uint8Array): Promise<{ value: Rgba; wasmBytes: number }> {
  ensureImageData();
  instance ??= initPng(pngWasm) as Promise<PngModule>;
  const mod = await instance;
  const img = decodePngWasm(bytes);
  const value = { width: img.width, height: img.height, data: new Uint8ClampedArray(img.data) };
  return { value, wasmBytes: mod.memory.buffer.byteLength };
}
