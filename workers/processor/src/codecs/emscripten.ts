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
  /** Whether the instance asked for more memory than `maxHeapBytes` and was refused. */
  capped: () => boolean;
};

/**
 * Wraps emscripten's heap-growth import so a request past `max` bytes is refused (malloc
 * then fails inside the module, which reports an error): a WASM memory cannot be capped
 * from outside once created, and the module's own maximum is 2 GB. emscripten grows by up
 * to 20% more than asked while under its maximum, so the memory may end up to 1.2 x `max`.
 */
function capHeap(imports: WebAssembly.Imports, max: number, onCap: () => void): void {
  let found = false;
  for (const ns of Object.values(imports)) {
    for (const [name, value] of Object.entries(ns)) {
      if (typeof value !== "function" || value.name !== "_emscripten_resize_heap") continue;
      ns[name] = (requested: number) => {
        if (requested >>> 0 > max) {
          onCap();
          return false;
        }
        return Boolean(Reflect.apply(value, undefined, [requested]));
      };
      found = true;
    }
  }
  // Without it the cap would silently not apply: refuse to run uncapped.
  if (!found) throw new Error("emscripten module has no _emscripten_resize_heap import to cap");
}

export async function instantiate<T>(
  factory: Factory<T>,
  wasm: WebAssembly.Module,
  opts: { maxHeapBytes?: number } = {},
): Promise<Instance<T>> {
  let memory: WebAssembly.Memory | null = null;
  let capped = false;
  const module = await factory({
    noInitialRun: true,
    instantiateWasm: (imports, done) => {
      if (opts.maxHeapBytes !== undefined) {
        capHeap(imports, opts.maxHeapBytes, () => {
          capped = true;
        });
      }
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
    capped: () => capped,
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
