// Fresh emscripten instances from a precompiled module: workerd forbids compiling WASM
// from bytes, and a WASM memory never shrinks, so each image gets its own instance and
// the memory goes with it.

export type Factory<T> = (opts: EmscriptenOpts) => Promise<T>;
type EmscriptenOpts = {
  noInitialRun: boolean;
  instantiateWasm: (
    imports: WebAssembly.Imports,
    done: (instance: WebAssembly.Instance) => void,
  ) => WebAssembly.Exports;
};

export type Instance<T> = {
  module: T;
  memoryBytes: () => number;
  /** Whether `view` is a view of this instance's memory (not a copy owned by JS). */
  inMemory: (view: ArrayBufferView) => boolean;
};

export async function instantiate<T>(
  factory: Factory<T>,
  wasm: WebAssembly.Module,
): Promise<Instance<T>> {
  let memory: WebAssembly.Memory | null = null;
  const module = await factory({
    noInitialRun: true,
    instantiateWasm: (imports, done) => {
      const instance = new WebAssembly.Instance(wasm, imports);
      for (const value of Object.values(instance.exports)) {
        if (value instanceof WebAssembly.Memory) memory = value;
      }
      // emscripten may have imported its memory instead of exporting it.
      for (const ns of Object.values(imports)) {
        for (const value of Object.values(ns))
          if (value instanceof WebAssembly.Memory) memory ??= value;
      }
      done(instance);
      return instance.exports;
    },
  });
  return {
    module,
    memoryBytes: () => (memory ? (memory as WebAssembly.Memory).buffer.byteLength : 0),
    inMemory: (view) => memory !== null && (memory as WebAssembly.Memory).buffer === view.buffer,
  };
}

/**
 * jSquash's emscripten decoders build results with `new ImageData(...)`, which workerd
 * does not have. A minimal stand-in with the same shape.
 */
export function ensureImageData(): void {
  if ("ImageData" in globalThis) return;
  class ImageDataShim {
    readonly colorSpace = "srgb";
    constructor(
      readonly data: Uint8ClampedArray,
      readonly width: number,
      readonly height: number,
    ) {}
  }
  Object.defineProperty(globalThis, "ImageData", {
    value: ImageDataShim,
    configurable: true,
    writable: true,
  });
}
