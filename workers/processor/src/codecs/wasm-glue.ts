// The glue our own emscripten builds (STANDALONE_WASM: jpeg-turbo.wasm, hevc.wasm) share:
// typed exports, a WASI that prints and opens nothing, and an instantiation that refuses
// an import we do not provide (a rebuilt module asking for something new fails loudly at
// start, not mid-decode).

export type WasmFn = (...args: number[]) => unknown;

/** The module called exit(): its state is unknown, the instance must not be reused. */
export class WasmExit extends Error {
  override readonly name = "WasmExit";
}

/** The glue of one module, whose errors name it. */
export function wasmGlue(label: string) {
  return {
    fn(exports: WebAssembly.Exports, name: string): WasmFn {
      const value = exports[name];
      if (typeof value !== "function") throw new Error(`${label}: missing export ${name}`);
      return value as WasmFn;
    },

    i32(value: unknown): number {
      if (typeof value !== "number") throw new Error(`${label}: expected an i32 result`);
      return value;
    },

    /** exit throws; writes, seeks and closes answer ENOSYS (52): nothing is printed. */
    wasi(): WebAssembly.ModuleImports {
      return {
        proc_exit: (code: number) => {
          throw new WasmExit(`${label} exited with ${code}`);
        },
        fd_write: () => 52,
        fd_seek: () => 52,
        fd_close: () => 52,
      };
    },

    instantiate(
      module: WebAssembly.Module,
      env: WebAssembly.ModuleImports,
      wasi: WebAssembly.ModuleImports,
    ): { exports: WebAssembly.Exports; memory: WebAssembly.Memory } {
      for (const imp of WebAssembly.Module.imports(module)) {
        const provided =
          imp.module === "env"
            ? imp.name in env
            : imp.module === "wasi_snapshot_preview1" && imp.name in wasi;
        if (!provided) throw new Error(`${label}: unexpected import ${imp.module}.${imp.name}`);
      }
      const instance = new WebAssembly.Instance(module, { env, wasi_snapshot_preview1: wasi });
      const memory = instance.exports.memory;
      if (!(memory instanceof WebAssembly.Memory)) throw new Error(`${label}: no memory`);
      return { exports: instance.exports, memory };
    },

    /**
     * An emscripten module (built with ALLOW_MEMORY_GROWTH and its growth notification)
     * whose memory may not grow past `maxMemoryBytes`: the growth that would cross it
     * throws MemoryCeiling out of the WASM call, whatever the library was doing, so a
     * decoder never holds more than its estimate gave it. `imports`: the module's own
     * `env` functions (callbacks into JS), beside the growth hook.
     */
    instantiateCapped(
      module: WebAssembly.Module,
      maxMemoryBytes: number,
      what: string,
      imports: WebAssembly.ModuleImports = {},
    ): { exports: WebAssembly.Exports; memory: WebAssembly.Memory } {
      let memory: WebAssembly.Memory | undefined;
      const env: WebAssembly.ModuleImports = {
        ...imports,
        emscripten_notify_memory_growth: () => {
          if (memory && memory.buffer.byteLength > maxMemoryBytes) {
            throw new MemoryCeiling(
              `the ${what} needed more than ${Math.round(maxMemoryBytes / 2 ** 20)} MB`,
            );
          }
        },
      };
      const made = this.instantiate(module, env, this.wasi());
      memory = made.memory;
      return made;
    },
  };
}

/** A capped instance's memory would have grown past its ceiling (instantiateCapped). */
export class MemoryCeiling extends Error {}
