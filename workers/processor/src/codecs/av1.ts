/**
 * JS glue for workers/processor/wasm/av1/av1.wasm (dav1d 1.0.0 + decode.c, built by
 * wasm/av1/build.sh). One decoder = one Instance = one image: WASM memory never shrinks.
 * No emscripten runtime: the module imports only a memory-growth hook (used here as a
 * hard ceiling) and WASI stubs, as hevc.wasm does (./hevc.ts).
 */

import type { RowResizer } from "../image/row-resize";
import { MemoryCeiling, wasmGlue } from "./wasm-glue";

export type Av1ErrorCode = "corrupt" | "unsupported" | "too-large" | "bad-argument" | "trap";

export class Av1Error extends Error {
  override readonly name = "Av1Error";
  constructor(
    readonly code: Av1ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const NO_SEQUENCE_HEADER = 5;
const STATUS: Readonly<Record<number, Av1ErrorCode>> = {
  1: "corrupt",
  2: "unsupported",
  3: "too-large",
  4: "bad-argument",
  [NO_SEQUENCE_HEADER]: "corrupt",
};
// decode.c's state slots.
const S = {
  status: 0,
  width: 1,
  height: 2,
  layout: 3,
  depth: 4,
  dav1dError: 5,
  matrix: 6,
  fullRange: 7,
  primaries: 8,
  transfer: 9,
  windowed: 10,
} as const;
const SLOTS = 11;

/** What an AV1 sequence header or a decoded picture says about the image. */
export type Av1Format = {
  width: number;
  height: number;
  /** 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4 */
  layout: number;
  depth: number;
  /** The sequence header's colour description (CICP; 2 = unspecified). */
  cicp: { primaries: number; transfer: number; matrix: number; fullRange: boolean };
};

const glue = wasmGlue("av1.wasm");
const { fn, i32 } = glue;

export type Av1Decoder = ReturnType<typeof createAv1Decoder>;

/**
 * @param maxMemoryBytes the instance's memory may not grow past this: a growth beyond it
 *   aborts the decode ("too-large") and kills the instance, whatever dav1d was doing.
 */
export function createAv1Decoder(module: WebAssembly.Module, maxMemoryBytes: number) {
  /** Where av_decode_rows' rows go (set for the length of one decodeRows call). */
  let sink: ((y: number, n: number, rgba: Uint8Array) => void) | null = null;
  let rowWidth = 0;
  /** Where resize.c's finished output rows go (set by `resizeInto`). */
  let resized: RowResizer | null = null;
  const { exports: ex, memory: mem } = glue.instantiateCapped(
    module,
    maxMemoryBytes,
    "AV1 decoder",
    {
      av_out: (y: number, n: number, ptr: number) => {
        if (!sink) throw new Av1Error("bad-argument", "av1.wasm sent rows nobody asked for");
        sink(y, n, new Uint8Array(mem.buffer, ptr, n * rowWidth * 4));
      },
      av_resized: (y: number, ptr: number) => {
        if (!resized) throw new Av1Error("bad-argument", "av1.wasm sent a row nobody asked for");
        resized.putRow(y, new Uint8Array(mem.buffer, ptr, resized.dstW * 4));
      },
    },
  );
  const malloc = fn(ex, "malloc");
  const free = fn(ex, "free");
  const avSequence = fn(ex, "av_sequence");
  const avDecode = fn(ex, "av_decode");
  const avDecodeRows = fn(ex, "av_decode_rows");
  const avBandNew = fn(ex, "av_band_new");
  const avBandPut = fn(ex, "av_band_put");
  const avBandAdopt = fn(ex, "av_band_adopt");
  const avBandFree = fn(ex, "av_band_free");
  const avSetColor = fn(ex, "av_set_color");
  const avRows = fn(ex, "av_rows");
  const avRowsOf = fn(ex, "av_rows_of");
  const avRowsResize = fn(ex, "av_rows_resize");
  const avResizeNew = fn(ex, "av_resize_new");
  const avResizeRows = fn(ex, "av_resize_rows");
  const avResizeFree = fn(ex, "av_resize_free");
  const avResizePlanar = fn(ex, "av_resize_planar");
  if (typeof ex._initialize === "function") fn(ex, "_initialize")();
  const statePtr = i32(fn(ex, "av_state")());
  let dead = false;

  const slot = (i: number) => new Int32Array(mem.buffer, statePtr, SLOTS)[i] ?? 0;
  const format = (): Av1Format => ({
    width: slot(S.width),
    height: slot(S.height),
    layout: slot(S.layout),
    depth: slot(S.depth),
    cicp: {
      primaries: slot(S.primaries),
      transfer: slot(S.transfer),
      matrix: slot(S.matrix),
      fullRange: slot(S.fullRange) !== 0,
    },
  });

  /** Runs a WASM call; a trap or the memory ceiling kills the instance. */
  const guard = <T>(what: string, f: () => T): T => {
    if (dead) throw new Av1Error("trap", "this AV1 decoder is dead; make a new one");
    try {
      return f();
    } catch (e) {
      if (e instanceof Av1Error) throw e;
      dead = true;
      if (e instanceof MemoryCeiling) throw new Av1Error("too-large", e.message, { cause: e });
      const why = e instanceof Error ? e.message : String(e);
      throw new Av1Error("trap", `av1.wasm crashed in ${what}: ${why}`, { cause: e });
    }
  };
  const check = (status: number, what: string) => {
    if (status === 0) return;
    const code = STATUS[status] ?? "corrupt";
    const err = slot(S.dav1dError);
    const detail =
      status === NO_SEQUENCE_HEADER ? " (no sequence header)" : err ? ` (dav1d error ${err})` : "";
    throw new Av1Error(code, `${what} failed${detail}`);
  };
  /** Runs `f` on a copy of `bytes` in WASM memory, freed afterwards. */
  const withCopy = <T>(bytes: Uint8Array, f: (ptr: number) => T): T => {
    const ptr = i32(malloc(Math.max(1, bytes.length)));
    if (ptr === 0) throw new Av1Error("too-large", `no WASM memory for ${bytes.length} bytes`);
    try {
      new Uint8Array(mem.buffer, ptr, bytes.length).set(bytes);
      return f(ptr);
    } finally {
      free(ptr);
    }
  };

  let rowBuf = 0;
  let rowBufBytes = 0;
  /** The module's row buffer, grown to `need` bytes (one for both row calls). */
  const rowBufFor = (need: number) => {
    if (need <= rowBufBytes) return;
    if (rowBuf) free(rowBuf);
    rowBufBytes = 0;
    rowBuf = i32(malloc(need));
    if (!rowBuf) throw new Av1Error("too-large", "no WASM memory for the row buffer");
    rowBufBytes = need;
  };

  return {
    memoryBytes: () => mem.buffer.byteLength,
    get dead() {
      return dead;
    },

    /** The sequence header of a coded image's OBUs, read without decoding anything. */
    sequence(data: Uint8Array): Av1Format {
      return guard("sequence", () =>
        withCopy(data, (d) => {
          check(i32(avSequence(d, data.length)), "reading the AV1 sequence header");
          return format();
        }),
      );
    },

    /** Decodes one coded image; it must come out `w` x `h` (dav1d refuses a larger frame). */
    decode(data: Uint8Array, w: number, h: number): Av1Format {
      return guard("decode", () =>
        withCopy(data, (d) => {
          check(i32(avDecode(d, data.length, w, h)), "AV1 decoding");
          return format();
        }),
      );
    },
    /**
     * Decodes one coded image as `decode` does, handing rows [rows.y0, rows.y1), columns
     * [rows.x0, rows.x0 + rows.w) to `onRows` as RGBA while dav1d makes them (the view is
     * valid during the call): through a window of a few superblock rows, so the whole
     * frame never exists (a frame dav1d cannot decode that way is decoded whole, then
     * handed out the same way; `windowed` says which). The alpha band (slot 1) and the
     * colour must be set first.
     */
    decodeRows(
      data: Uint8Array,
      w: number,
      h: number,
      rows: { x0: number; w: number; y0: number; y1: number },
      onRows: (y: number, n: number, rgba: Uint8Array) => void,
    ): { windowed: boolean } {
      return guard("decode", () =>
        withCopy(data, (d) => {
          sink = onRows;
          rowWidth = rows.w;
          try {
            check(
              i32(avDecodeRows(d, data.length, w, h, rows.x0, rows.w, rows.y0, rows.y1)),
              "AV1 decoding",
            );
          } finally {
            sink = null;
          }
          return { windowed: slot(S.windowed) !== 0 };
        }),
      );
    },
    bandNew(band: number, width: number, height: number, y0: number, f: Av1Format) {
      guard("band", () =>
        check(
          i32(avBandNew(band, width, height, y0, f.layout, f.depth, f.cicp.fullRange ? 1 : 0)),
          "band allocation",
        ),
      );
    },
    bandPut(band: number, x0: number, y0: number) {
      guard("band", () => check(i32(avBandPut(band, x0, y0)), "placing a tile"));
    },
    bandAdopt(band: number) {
      guard("band", () => check(i32(avBandAdopt(band)), "adopting the picture"));
    },
    bandFree(band: number) {
      guard("band", () => avBandFree(band));
    },
    setColour(matrix: number, fullRange: boolean, gamut: Float32Array | null) {
      guard("colour", () => {
        let g = 0;
        if (gamut) {
          g = i32(malloc(36));
          if (!g) throw new Av1Error("too-large", "no WASM memory for the gamut matrix");
          new Float32Array(mem.buffer, g, 9).set(gamut);
        }
        avSetColor(matrix, fullRange ? 1 : 0, g);
        if (g) free(g);
      });
    },
    /**
     * From here on the RGBA rows go into `resizer` inside the module (resize.c, the same
     * arithmetic as RowResizer.push) instead of out to JS: decodeRows' `onRows` is not
     * called and `rows` must not be, `rowsResized` replaces it. False when the resizer
     * only copies rows through (equal sizes): nothing changes then.
     * `planar`: an opaque image without a gamut step is averaged as Y, Cb, Cr and
     * converted at the output size (within ±1 of converting first; see wasm/av1/README.md);
     * false keeps RowResizer's arithmetic bit for bit on every image.
     */
    resizeInto(resizer: RowResizer, planar = true): boolean {
      const plan = resizer.plan();
      if (!plan) return false;
      return guard("resize", () => {
        avResizePlanar(planar ? 1 : 0);
        const tables = [
          plan.tapEnd,
          plan.tapPixel,
          plan.tapWeight,
          plan.yStart,
          plan.yCount,
          plan.yWeights,
        ];
        // Copied in; resize.c owns (and frees) them from av_resize_new on.
        const ptrs = tables.map((t) => {
          const p = i32(malloc(Math.max(8, t.byteLength)));
          if (!p) throw new Av1Error("too-large", "no WASM memory for the resize tables");
          new Uint8Array(mem.buffer, p, t.byteLength).set(
            new Uint8Array(t.buffer, t.byteOffset, t.byteLength),
          );
          return p;
        });
        // (tap end, pixel, weight, y start, count, weights: av_resize_new's order)
        const { srcW, srcH, dstW, dstH } = resizer;
        const sizes = [srcW, srcH, dstW, dstH];
        check(
          i32(avResizeNew(...sizes, ...ptrs, plan.yMaxTaps, plan.accumulators)),
          "setting up the resizer",
        );
        resized = resizer;
        return true;
      });
    },
    /** Source rows the module's resizer took so far. */
    resizedRows(): number {
      return guard("resize", () => i32(avResizeRows()));
    },
    /** Ends `resizeInto` (frees its tables and rows). */
    resizeDone() {
      guard("resize", () => avResizeFree());
      resized = null;
    },
    /** `rows`, but into the module's resizer (`resizeInto`). */
    rowsResized(y: number, n: number, x0: number, w: number) {
      guard("rows", () => {
        rowBufFor(n * w * 4);
        check(i32(avRowsResize(y, n, x0, w, rowBuf)), "colour conversion");
      });
    },
    /**
     * `rows` of the image in band `band`, blended with the alpha band `alphaBand` (an
     * overlay's layers: two band slots per layer, as in hevc.wasm).
     */
    rowsOf(
      band: number,
      alphaBand: number | null,
      y: number,
      n: number,
      x0: number,
      w: number,
    ): Uint8Array {
      return guard("rows", () => {
        const need = n * w * 4;
        rowBufFor(need);
        check(i32(avRowsOf(band, alphaBand ?? -1, y, n, x0, w, rowBuf)), "colour conversion");
        return new Uint8Array(mem.buffer, rowBuf, need);
      });
    },
    /** Rows [y, y + n), columns [x0, x0 + w) as RGBA8; the view is valid until the next call. */
    rows(y: number, n: number, x0: number, w: number): Uint8Array {
      return guard("rows", () => {
        const need = n * w * 4;
        rowBufFor(need);
        check(i32(avRows(y, n, x0, w, rowBuf)), "colour conversion");
        return new Uint8Array(mem.buffer, rowBuf, need);
      });
    },
  };
}
