/**
 * JS glue for workers/processor/wasm/jpeg-turbo/jpeg-turbo.wasm (libjpeg-turbo 2.1.5 +
 * decode.c, built by wasm/jpeg-turbo/build.sh).
 *
 * workerd cannot compile WebAssembly from bytes: the caller imports the .wasm as a
 * `WebAssembly.Module` and hands it here; each `createJpegDecoder` call makes one fresh
 * Instance (cheap, well under a millisecond). WASM memory only ever grows, so use one
 * decoder per image and drop it afterwards.
 *
 * No `any`, no imports: runs unchanged in workerd and in Node (type stripping).
 */

import { type WasmFn, wasmGlue } from "./wasm-glue";

export type ScaleDenom = 1 | 2 | 4 | 8;

export type JpegColorSpace = "unknown" | "grayscale" | "rgb" | "ycbcr" | "cmyk" | "ycck";

export interface JpegHeader {
  width: number;
  height: number;
  /** Number of colour components in the file (1 grey, 3 colour, 4 CMYK/YCCK). */
  components: number;
  colorSpace: JpegColorSpace;
  progressive: boolean;
  /** Arithmetic-coded (rare; supported). */
  arithmetic: boolean;
  /** Bits per sample; only 8 decodes. */
  precision: number;
  /** Adobe APP14 marker: transform 0 = none (RGB/CMYK, CMYK stored inverted), 1 = YCbCr, 2 = YCCK. */
  adobe: { transform: number } | null;
  jfif: boolean;
  /** Sampling factors of the first component: {2,2} is 4:2:0, {2,1} 4:2:2, {1,1} 4:4:4. */
  sampling: { h: number; v: number };
  /** First non-fatal libjpeg warning (e.g. "Corrupt JPEG data: 3 extraneous bytes..."), if any. */
  warning: string | null;
}

export interface DecodedImage {
  width: number;
  height: number;
  /** RGBA, 8 bits per channel, row-major, width*height*4 bytes; a copy owned by JS. */
  data: Uint8ClampedArray;
  /** First non-fatal libjpeg warning, if any (damage warnings are errors instead). */
  warning: string | null;
}

export interface DecodeOptions {
  /** JDCT_IFAST instead of JDCT_ISLOW. Only changes anything at scale 1/1. Default false. */
  fastDct?: boolean;
  /** Smooth chroma upsampling (libjpeg default). Default true; false is faster at 1/1. */
  fancyUpsampling?: boolean;
}

export interface JpegDecoderOptions {
  /**
   * Refuse (error code "too-large") when libjpeg's own allocations, or the RGBA output
   * buffer alone, would exceed this many bytes. Approximate total WASM memory bound:
   * input size + output size + this. 0 / unset: bounded only by the module's 256 MB max.
   */
  maxMemoryBytes?: number;
  /**
   * Refuse (error code "too-large") a JPEG with more scans than this, the moment libjpeg
   * reaches the next one (its progress monitor): each scan walks every block of its
   * components, so scans x blocks bounds the work of a decode. 0 / unset: no cap.
   */
  maxScans?: number;
}

export interface JpegDecoder {
  /** Parses the markers up to the first scan; decodes nothing. Throws JpegDecodeError. */
  readHeader(bytes: Uint8Array): JpegHeader;
  /** Decodes at 1/scaleDenom of full size (DCT scaling) to RGBA. Throws JpegDecodeError. */
  decode(bytes: Uint8Array, scaleDenom: ScaleDenom, options?: DecodeOptions): DecodedImage;
  /**
   * Decodes straight to `width` x `height` (at most the image's size): libjpeg scales by
   * the smallest n/8 that covers it, and the rows are area-averaged down as they arrive,
   * so the full-size (or n/8-size) image never exists. Throws JpegDecodeError.
   */
  decodeFit(
    bytes: Uint8Array,
    width: number,
    height: number,
    options?: DecodeOptions,
  ): DecodedImage & { scaleNum: number };
  /** Current size of this instance's WASM memory (it never shrinks). */
  memoryBytes(): number;
  /** True after a trap: the instance is unusable, make a new decoder. */
  readonly dead: boolean;
}

/**
 * "corrupt": damaged or truncated data (never worth a retry). "not-jpeg": no SOI marker.
 * "unsupported": 12-bit, lossless, unknown colour space... "too-large": over the memory
 * limit / out of WASM memory. "bad-argument": caller error. "trap": the WASM instance
 * crashed and is dead (use a new decoder).
 */
export type JpegErrorCode =
  | "corrupt"
  | "unsupported"
  | "too-large"
  | "bad-argument"
  | "not-jpeg"
  | "trap";

export class JpegDecodeError extends Error {
  override readonly name = "JpegDecodeError";
  readonly code: JpegErrorCode;
  /** libjpeg's message code (J_MESSAGE_CODE), -1 if none. */
  readonly libjpegCode: number;

  constructor(
    code: JpegErrorCode,
    message: string,
    libjpegCode = -1,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
    this.libjpegCode = libjpegCode;
  }
}

// ---- the WASM side -----------------------------------------------------------------------

// Status codes and the dr_state layout of decode.c (int32 slots).
const STATUS_ERRORS: Readonly<Record<number, JpegErrorCode>> = {
  1: "corrupt",
  2: "unsupported",
  3: "too-large",
  4: "bad-argument",
  5: "not-jpeg",
};
const S = {
  status: 0,
  width: 1,
  height: 2,
  components: 3,
  colorSpace: 4,
  progressive: 5,
  sawAdobe: 6,
  adobeTransform: 7,
  sawJfif: 8,
  precision: 9,
  outWidth: 10,
  outHeight: 11,
  pixels: 12,
  numWarnings: 13,
  firstWarning: 14,
  msgCode: 15,
  arithmetic: 16,
  hSamp: 17,
  vSamp: 18,
  scaleNum: 19,
} as const;
const STATE_INTS = 20;
const MESSAGE_OFFSET = STATE_INTS * 4;
const MESSAGE_LEN = 200;
const COLOR_SPACES: readonly JpegColorSpace[] = [
  "unknown",
  "grayscale",
  "rgb",
  "ycbcr",
  "cmyk",
  "ycck",
];
const FLAG_FAST_DCT = 1;
const FLAG_NO_FANCY_UPSAMPLE = 2;

const glue = wasmGlue("jpeg-turbo.wasm");
const { i32 } = glue;
const exportedFunction = glue.fn;

export function createJpegDecoder(
  module: WebAssembly.Module,
  options: JpegDecoderOptions = {},
): JpegDecoder {
  // Late-bound exports used by the imports (emscripten's setjmp/longjmp protocol: a
  // longjmp throws the number Infinity through JS `invoke_*` trampolines, which restore
  // the stack and flag it with setThrew).
  let table: WebAssembly.Table | undefined;
  let stackSave: WasmFn | undefined;
  let stackRestore: WasmFn | undefined;
  let setThrew: WasmFn | undefined;
  let tempRet0 = 0;

  const invoke = (index: number, ...args: number[]): unknown => {
    if (!table || !stackSave || !stackRestore || !setThrew) throw new Error("not initialised");
    const sp = i32(stackSave());
    try {
      const target: unknown = table.get(index);
      if (typeof target !== "function") throw new Error(`bad table index ${index}`);
      return (target as WasmFn)(...args);
    } catch (e) {
      stackRestore(sp);
      if (typeof e !== "number") throw e; // a real error, not a longjmp
      setThrew(1, 0);
      return 0;
    }
  };

  const env: WebAssembly.ModuleImports = {
    _emscripten_throw_longjmp: () => {
      throw Number.POSITIVE_INFINITY;
    },
    getTempRet0: () => tempRet0,
    setTempRet0: (v: number) => {
      tempRet0 = v;
    },
    emscripten_notify_memory_growth: () => {},
  };
  // The trampolines setjmp needs, one per signature the module asks for.
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.module === "env" && imp.name.startsWith("invoke_")) {
      if (!/^invoke_[vi]i*$/.test(imp.name)) throw new Error(`unsupported import ${imp.name}`);
      env[imp.name] = invoke;
    }
  }

  const { exports: ex, memory } = glue.instantiate(module, env, glue.wasi());
  const tableExport = ex.__indirect_function_table;
  if (!(tableExport instanceof WebAssembly.Table)) throw new Error("jpeg-turbo.wasm: no table");
  table = tableExport;
  stackSave = exportedFunction(ex, "stackSave");
  stackRestore = exportedFunction(ex, "stackRestore");
  setThrew = exportedFunction(ex, "setThrew");
  const malloc = exportedFunction(ex, "malloc");
  const free = exportedFunction(ex, "free");
  const drReadHeader = exportedFunction(ex, "dr_read_header");
  const drDecode = exportedFunction(ex, "dr_decode");
  const drDecodeFit = exportedFunction(ex, "dr_decode_fit");
  const drSetMemoryLimit = exportedFunction(ex, "dr_set_memory_limit");
  const drSetScanLimit = exportedFunction(ex, "dr_set_scan_limit");
  const drState = exportedFunction(ex, "dr_state");
  if (typeof ex._initialize === "function") exportedFunction(ex, "_initialize")();

  const statePtr = i32(drState());
  const limit = options.maxMemoryBytes ?? 0;
  if (!Number.isInteger(limit) || limit < 0 || limit > 0xffffffff) {
    throw new RangeError("maxMemoryBytes must be an integer between 0 and 2^32-1");
  }
  drSetMemoryLimit(limit);
  const scans = options.maxScans ?? 0;
  if (!Number.isInteger(scans) || scans < 0 || scans > 0xffffffff) {
    throw new RangeError("maxScans must be an integer between 0 and 2^32-1");
  }
  drSetScanLimit(scans);

  let dead = false;

  const state = (): Int32Array => new Int32Array(memory.buffer, statePtr, STATE_INTS);
  const message = (): string => {
    const bytes = new Uint8Array(memory.buffer, statePtr + MESSAGE_OFFSET, MESSAGE_LEN);
    let s = "";
    for (const b of bytes) {
      if (b === 0) break;
      s += String.fromCharCode(b);
    }
    return s;
  };
  const slot = (st: Int32Array, i: number): number => st[i] ?? 0;

  /** Copies `bytes` into WASM memory, runs `fn(ptr, len)`, frees; turns traps into "trap". */
  const withInput = <T>(bytes: Uint8Array, fn: (ptr: number, len: number) => T): T => {
    if (dead)
      throw new JpegDecodeError("trap", "this JPEG decoder instance is dead; create a new one");
    if (bytes.length === 0) throw new JpegDecodeError("not-jpeg", "empty input");
    let ptr = 0;
    try {
      ptr = i32(malloc(bytes.length));
      if (ptr === 0) {
        throw new JpegDecodeError("too-large", `no WASM memory for a ${bytes.length}-byte input`);
      }
      new Uint8Array(memory.buffer, ptr, bytes.length).set(bytes);
      return fn(ptr, bytes.length);
    } catch (e) {
      if (e instanceof JpegDecodeError) throw e;
      dead = true; // a trap (RuntimeError), proc_exit, or a JS error mid-call: state unknown
      const why = e instanceof Error ? e.message : String(e);
      throw new JpegDecodeError("trap", `jpeg-turbo.wasm crashed: ${why}`, -1, { cause: e });
    } finally {
      if (ptr !== 0 && !dead) free(ptr);
    }
  };

  const check = (status: number): void => {
    if (status === 0) return;
    const st = state();
    const code = STATUS_ERRORS[status] ?? "corrupt";
    throw new JpegDecodeError(code, message() || `libjpeg status ${status}`, slot(st, S.msgCode));
  };

  const warning = (st: Int32Array): string | null =>
    slot(st, S.numWarnings) > 0 ? message() : null;

  return {
    get dead() {
      return dead;
    },

    memoryBytes: () => memory.buffer.byteLength,

    readHeader(bytes) {
      return withInput(bytes, (ptr, len) => {
        check(i32(drReadHeader(ptr, len)));
        const st = state();
        return {
          width: slot(st, S.width),
          height: slot(st, S.height),
          components: slot(st, S.components),
          colorSpace: COLOR_SPACES[slot(st, S.colorSpace)] ?? "unknown",
          progressive: slot(st, S.progressive) !== 0,
          arithmetic: slot(st, S.arithmetic) !== 0,
          precision: slot(st, S.precision),
          adobe: slot(st, S.sawAdobe) !== 0 ? { transform: slot(st, S.adobeTransform) } : null,
          jfif: slot(st, S.sawJfif) !== 0,
          sampling: { h: slot(st, S.hSamp), v: slot(st, S.vSamp) },
          warning: warning(st),
        };
      });
    },

    decode(bytes, scaleDenom, opts = {}) {
      if (scaleDenom !== 1 && scaleDenom !== 2 && scaleDenom !== 4 && scaleDenom !== 8) {
        throw new JpegDecodeError("bad-argument", `scale denominator must be 1, 2, 4 or 8`);
      }
      const flags =
        (opts.fastDct ? FLAG_FAST_DCT : 0) |
        (opts.fancyUpsampling === false ? FLAG_NO_FANCY_UPSAMPLE : 0);
      return withInput(bytes, (ptr, len) => {
        check(i32(drDecode(ptr, len, scaleDenom, flags)));
        const st = state();
        const width = slot(st, S.outWidth);
        const height = slot(st, S.outHeight);
        const pixels = slot(st, S.pixels) >>> 0;
        const data = new Uint8ClampedArray(memory.buffer, pixels, width * height * 4).slice();
        free(pixels);
        return { width, height, data, warning: warning(st) };
      });
    },

    decodeFit(bytes, width, height, opts = {}) {
      if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
        throw new JpegDecodeError("bad-argument", `bad output size ${width}x${height}`);
      }
      const flags =
        (opts.fastDct ? FLAG_FAST_DCT : 0) |
        (opts.fancyUpsampling === false ? FLAG_NO_FANCY_UPSAMPLE : 0);
      return withInput(bytes, (ptr, len) => {
        check(i32(drDecodeFit(ptr, len, width, height, flags)));
        const st = state();
        const pixels = slot(st, S.pixels) >>> 0;
        const data = new Uint8ClampedArray(memory.buffer, pixels, width * height * 4).slice();
        free(pixels);
        return { width, height, data, warning: warning(st), scaleNum: slot(st, S.scaleNum) };
      });
    },
  };
}
