/**
 * JS glue for workers/processor/wasm/hevc/hevc.wasm (libde265 1.0.11 + decode.c, built by
 * wasm/hevc/build.sh). One decoder = one Instance = one image: WASM memory never shrinks.
 * No emscripten runtime: the module imports only a memory-growth hook (used here as a
 * hard ceiling) and WASI stubs.
 */

import { MemoryCeiling, wasmGlue } from "./wasm-glue";

export type HevcErrorCode = "corrupt" | "unsupported" | "too-large" | "bad-argument" | "trap";

export class HevcError extends Error {
  override readonly name = "HevcError";
  constructor(
    readonly code: HevcErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const STATUS: Readonly<Record<number, HevcErrorCode>> = {
  1: "corrupt",
  2: "unsupported",
  3: "too-large",
  4: "bad-argument",
};
// decode.c's state slots.
const S = {
  status: 0,
  width: 1,
  height: 2,
  chroma: 3,
  depth: 4,
  depthChroma: 5,
  de265Error: 6,
  vuiMatrix: 7,
  vuiFullRange: 8,
  vuiPrimaries: 9,
  vuiTransfer: 10,
} as const;

export type Picture = {
  width: number;
  height: number;
  /** 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4 */
  chroma: number;
  depth: number;
  vui: { matrix: number; fullRange: boolean };
};

const glue = wasmGlue("hevc.wasm");
const { fn, i32 } = glue;

export type HevcDecoder = ReturnType<typeof createHevcDecoder>;

/**
 * @param maxMemoryBytes the instance's memory may not grow past this: a growth beyond it
 *   aborts the decode ("too-large") and kills the instance, whatever libde265 was doing.
 */
export function createHevcDecoder(module: WebAssembly.Module, maxMemoryBytes: number) {
  // libde265's rare diagnostics are not printed (the glue's WASI answers ENOSYS).
  const { exports: ex, memory: mem } = glue.instantiateCapped(
    module,
    maxMemoryBytes,
    "HEVC decoder",
  );
  const malloc = fn(ex, "malloc");
  const free = fn(ex, "free");
  const drDecode = fn(ex, "dr_decode");
  const drBandNew = fn(ex, "dr_band_new");
  const drBandPut = fn(ex, "dr_band_put");
  const drBandAdopt = fn(ex, "dr_band_adopt");
  const drBandFree = fn(ex, "dr_band_free");
  const drSetColor = fn(ex, "dr_set_color");
  const drRows = fn(ex, "dr_rows");
  if (typeof ex._initialize === "function") fn(ex, "_initialize")();
  const statePtr = i32(fn(ex, "dr_state")());
  let dead = false;

  const state = () => new Int32Array(mem.buffer, statePtr, 11);
  const slot = (i: number) => state()[i] ?? 0;

  /** Runs a WASM call; a trap or the memory ceiling kills the instance. */
  const guard = <T>(what: string, f: () => T): T => {
    if (dead) throw new HevcError("trap", "this HEVC decoder is dead; make a new one");
    try {
      return f();
    } catch (e) {
      if (e instanceof HevcError) throw e;
      dead = true;
      if (e instanceof MemoryCeiling) throw new HevcError("too-large", e.message, { cause: e });
      const why = e instanceof Error ? e.message : String(e);
      throw new HevcError("trap", `hevc.wasm crashed in ${what}: ${why}`, { cause: e });
    }
  };
  const check = (status: number, what: string) => {
    if (status === 0) return;
    const code = STATUS[status] ?? "corrupt";
    const detail = slot(S.de265Error) ? ` (libde265 code ${slot(S.de265Error)})` : "";
    throw new HevcError(code, `${what} failed${detail}`);
  };
  const copyIn = (bytes: Uint8Array): number => {
    const ptr = i32(malloc(Math.max(1, bytes.length)));
    if (ptr === 0) throw new HevcError("too-large", `no WASM memory for ${bytes.length} bytes`);
    new Uint8Array(mem.buffer, ptr, bytes.length).set(bytes);
    return ptr;
  };

  let rowBuf = 0;
  let rowBufBytes = 0;

  return {
    memoryBytes: () => mem.buffer.byteLength,
    get dead() {
      return dead;
    },

    /** Decodes one coded image (parameter sets + data); it must come out `w` x `h`. */
    decode(
      cfg: Uint8Array,
      data: Uint8Array,
      nalLengthSize: number,
      w: number,
      h: number,
    ): Picture {
      return guard("decode", () => {
        const c = copyIn(cfg);
        const d = copyIn(data);
        try {
          check(i32(drDecode(c, cfg.length, d, data.length, nalLengthSize, w, h)), "HEVC decoding");
        } finally {
          free(c);
          free(d);
        }
        return {
          width: slot(S.width),
          height: slot(S.height),
          chroma: slot(S.chroma),
          depth: slot(S.depth),
          vui: { matrix: slot(S.vuiMatrix), fullRange: slot(S.vuiFullRange) !== 0 },
        };
      });
    },
    bandNew(
      band: number,
      width: number,
      height: number,
      y0: number,
      chroma: number,
      depth: number,
    ) {
      guard("band", () =>
        check(i32(drBandNew(band, width, height, y0, chroma, depth)), "band allocation"),
      );
    },
    bandPut(band: number, x0: number, y0: number) {
      guard("band", () => check(i32(drBandPut(band, x0, y0)), "placing a tile"));
    },
    bandAdopt(band: number) {
      guard("band", () => check(i32(drBandAdopt(band)), "adopting the picture"));
    },
    bandFree(band: number) {
      guard("band", () => drBandFree(band));
    },
    setColour(matrix: number, fullRange: boolean, gamut: Float32Array | null) {
      guard("colour", () => {
        let g = 0;
        if (gamut) {
          g = i32(malloc(36));
          new Float32Array(mem.buffer, g, 9).set(gamut);
        }
        drSetColor(matrix, fullRange ? 1 : 0, g);
        if (g) free(g);
      });
    },
    /**
     * Rows [y, y + n), columns [x0, x0 + w) of the image in band `slot` as RGBA8, alpha
     * from band `alphaSlot` (null: opaque); the view is valid until the next call.
     */
    rows(
      slot: number,
      alphaSlot: number | null,
      y: number,
      n: number,
      x0: number,
      w: number,
    ): Uint8Array {
      return guard("rows", () => {
        const need = n * w * 4;
        if (need > rowBufBytes) {
          if (rowBuf) free(rowBuf);
          rowBuf = i32(malloc(need));
          if (!rowBuf) throw new HevcError("too-large", "no WASM memory for the row buffer");
          rowBufBytes = need;
        }
        check(i32(drRows(slot, alphaSlot ?? -1, y, n, x0, w, rowBuf)), "colour conversion");
        return new Uint8Array(mem.buffer, rowBuf, need);
      });
    },
  };
}
