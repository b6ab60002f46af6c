import type { Rgba } from "./rgba";

// Bit offsets of R, G, B, A in an RGBA pixel read as one 32-bit word (platform order).
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;
const R = LITTLE_ENDIAN ? 0 : 24;
const G = LITTLE_ENDIAN ? 8 : 16;
const B = LITTLE_ENDIAN ? 16 : 8;
const A = LITTLE_ENDIAN ? 24 : 0;

type Taps = { start: Int32Array; count: Int32Array; weights: Float32Array; maxTaps: number };

/**
 * Area-average weights: each output pixel is the exact average of the source area it
 * covers (partial pixels weighted by coverage). For downscaling this is the box filter
 * libvips' shrink uses: alias-free, sharp enough at the ratios thumbnails need, and
 * cheap, with no WASM memory to grow.
 */
function taps(src: number, dst: number): Taps {
  const ratio = src / dst;
  const maxTaps = Math.ceil(ratio) + 1;
  const start = new Int32Array(dst);
  const count = new Int32Array(dst);
  const weights = new Float32Array(dst * maxTaps);
  for (let i = 0; i < dst; i++) {
    const a = i * ratio;
    const b = a + ratio;
    const first = Math.floor(a);
    const last = Math.min(src - 1, Math.ceil(b) - 1);
    start[i] = first;
    count[i] = last - first + 1;
    for (let s = first; s <= last; s++) {
      const cover = Math.min(b, s + 1) - Math.max(a, s);
      weights[i * maxTaps + (s - first)] = cover / ratio;
    }
  }
  return { start, count, weights, maxTaps };
}

/**
 * An upper bound of `RowResizer.bytes` for these sizes, from the sizes alone (the memory
 * estimate counts it before a decode starts): the output, the float rows (one resampled
 * row and at most three accumulators of dstW * 4 floats), the aligned-row scratch, and
 * the tap tables, ~20 bytes per source column. Output pixel i covers source pixels
 * floor(i r) .. ceil((i + 1) r) - 1 (r = src / dst), so the taps of a whole axis number
 * at most src + 2 dst; `taps()` sizes its weights dst * (ceil(r) + 1) <= src + 2 dst.
 */
export function rowResizerBytes(srcW: number, srcH: number, dstW: number, dstH: number): number {
  const taps = (src: number, dst: number) => src + 2 * dst;
  // taps(): start + count (8 per output) and float32 weights, x and y.
  const tables = (src: number, dst: number) => 8 * dst + 4 * taps(src, dst);
  return (
    dstW * dstH * 4 +
    dstW * 4 * 4 * 4 +
    srcW * 4 +
    // x: kept as tapEnd (int32 per output), tapPixel (int32) and tapWeight (float64) per
    // tap, after taps() built them (its tables are counted as alive at the same time).
    4 * dstW +
    12 * taps(srcW, dstW) +
    tables(srcW, dstW) +
    tables(srcH, dstH)
  );
}

/**
 * An upper bound of what a twin of the resizer (`plan`: av1.wasm's resize.c) holds for a
 * source of these sizes, whatever the output size (at most the source's): a copy of the
 * tables (x: int32 end per output, int32 pixel + float64 weight per tap, at most 3 srcW
 * taps; y: int32 start and count per output row, float32 weight per tap, at most 3 srcH)
 * and five rows of dstW * 4 floats (the resampled row, the finished row, <= 3 accumulators),
 * an RGBA8 row, its opaque-row tables (a float64 per tap, a float32 per output), and its
 * planar path (resize-yuv.c: float32 tap weights and merged chroma taps, per-output sums,
 * <= 4 source-width accumulators for Y and for Cb + Cr, rings of 4 finished rows of Y
 * and of Cb + Cr, an RGBA8 row; chroma y tables: 148 bytes per source column, 28 per row).
 */
export function resizeTwinBytes(srcW: number, srcH: number): number {
  const xTaps = 3 * srcW;
  const yTaps = 3 * srcH;
  const planar = 148 * srcW + 28 * srcH;
  return (
    4 * srcW +
    12 * xTaps +
    8 * srcH +
    4 * yTaps +
    5 * srcW * 16 +
    4 * srcW +
    8 * xTaps +
    4 * srcW +
    planar
  );
}

/**
 * Area-average downscaler fed one source row at a time, top to bottom: a decoder can
 * hand it rows as they come and the full-size image never exists. Colour is averaged
 * premultiplied by alpha, so transparent pixels do not bleed dark fringes into the edges
 * of opaque ones. Separable: each source row is resampled horizontally once (into
 * floats), then added into the one or two output rows whose area it covers; an output
 * row is written out (unpremultiplied) as soon as its last source row has arrived.
 * Besides the output it holds O(dstW) floats: one resampled row and a few accumulators.
 *
 * Equal sizes copy the rows through untouched (the colour of fully transparent pixels
 * included), as `downscale` returns an image that needs no resizing as it is.
 */
export class RowResizer {
  readonly srcW: number;
  readonly srcH: number;
  readonly dstW: number;
  readonly dstH: number;
  private readonly out: Uint8ClampedArray;
  private readonly identity: boolean;
  /** Next source row expected. */
  private y = 0;
  /** Lowest output row not written yet. */
  private nextOut = 0;
  // Horizontal taps flattened: output x uses taps tapEnd[x-1] .. tapEnd[x]-1, each a
  // source pixel index and a weight (the float32 value, held as a double).
  private readonly tapEnd: Int32Array;
  private readonly tapPixel: Int32Array;
  private readonly tapWeight: Float64Array;
  /** A 4-byte-aligned copy of a source row that came unaligned (made when needed). */
  private scratch: Uint32Array | null = null;
  private readonly yTaps: Taps;
  /** The current source row resampled horizontally, premultiplied. */
  private readonly row: Float32Array;
  /** Accumulators of the output rows in progress, output row y in slot y % length. */
  private readonly accs: Float32Array[];
  /** Bytes of the temporary x tables `taps()` built, alive while the constructor ran. */
  private readonly buildBytes: number;

  constructor(srcW: number, srcH: number, dstW: number, dstH: number) {
    for (const v of [srcW, srcH, dstW, dstH]) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`RowResizer: bad size ${v}`);
    }
    if (dstW > srcW || dstH > srcH) {
      throw new RangeError(`RowResizer: ${srcW}x${srcH} to ${dstW}x${dstH} would upscale`);
    }
    this.srcW = srcW;
    this.srcH = srcH;
    this.dstW = dstW;
    this.dstH = dstH;
    this.out = new Uint8ClampedArray(dstW * dstH * 4);
    this.identity = srcW === dstW && srcH === dstH;
    const tx = taps(srcW, dstW);
    this.buildBytes = tx.start.byteLength + tx.count.byteLength + tx.weights.byteLength;
    let total = 0;
    for (let x = 0; x < dstW; x++) total += tx.count[x] ?? 0;
    this.tapEnd = new Int32Array(dstW);
    this.tapPixel = new Int32Array(total);
    this.tapWeight = new Float64Array(total);
    for (let x = 0, j = 0; x < dstW; x++) {
      const s0 = tx.start[x] ?? 0;
      const n = tx.count[x] ?? 0;
      for (let k = 0; k < n; k++, j++) {
        this.tapPixel[j] = s0 + k;
        this.tapWeight[j] = tx.weights[x * tx.maxTaps + k] ?? 0;
      }
      this.tapEnd[x] = j;
    }
    this.yTaps = taps(srcH, dstH);
    // How many output rows one source row can feed at once (2, or in float-rounding
    // corner cases 3): that many accumulators.
    let overlap = 1;
    const { start, count } = this.yTaps;
    for (let y = 0; y < dstH; y++) {
      const last = (start[y] ?? 0) + (count[y] ?? 0) - 1;
      let n = 1;
      while (y + n < dstH && (start[y + n] ?? 0) <= last) n++;
      overlap = Math.max(overlap, n);
    }
    this.row = new Float32Array(this.identity ? 0 : dstW * 4);
    this.accs = [];
    for (let i = 0; i < (this.identity ? 0 : overlap); i++)
      this.accs.push(new Float32Array(dstW * 4));
  }

  /**
   * Peak bytes this resizer holds: the output, its float rows, its tap tables and the
   * temporary tables it was built from (counted as if still alive: a peak, not a current
   * size).
   */
  get bytes(): number {
    const { start, count, weights } = this.yTaps;
    const tables = [this.tapEnd, this.tapPixel, this.tapWeight, start, count, weights];
    return (
      this.out.byteLength +
      this.row.byteLength * (1 + this.accs.length) +
      tables.reduce((n, t) => n + t.byteLength, 0) +
      this.buildBytes +
      (this.scratch?.byteLength ?? 0)
    );
  }

  /** Rows pushed so far. */
  get rows(): number {
    return this.y;
  }

  /**
   * The tables `push` works from, for a twin that does its arithmetic where the rows are
   * made (av1.wasm's resize.c, bit-identical): null when the sizes are equal (rows are
   * copied through, `push` only). The twin hands back each finished output row through
   * `putRow` and its row count through `countPushed`.
   */
  plan(): {
    tapEnd: Int32Array;
    tapPixel: Int32Array;
    tapWeight: Float64Array;
    yStart: Int32Array;
    yCount: Int32Array;
    yWeights: Float32Array;
    yMaxTaps: number;
    accumulators: number;
  } | null {
    if (this.identity) return null;
    const { start, count, weights, maxTaps } = this.yTaps;
    return {
      tapEnd: this.tapEnd,
      tapPixel: this.tapPixel,
      tapWeight: this.tapWeight,
      yStart: start,
      yCount: count,
      yWeights: weights,
      yMaxTaps: maxTaps,
      accumulators: this.accs.length,
    };
  }

  /**
   * Output row y from a twin (see `plan`): what `push` would have written there (dstW
   * RGBA8 pixels, unpremultiplied as `emit` does), copied into the output.
   */
  putRow(y: number, rgba: Uint8Array): void {
    const n = this.dstW * 4;
    if (this.identity || y < this.nextOut || y >= this.dstH || rgba.length < n) {
      throw new RangeError(`RowResizer: output row ${y} out of order`);
    }
    this.out.set(rgba.length === n ? rgba : rgba.subarray(0, n), y * n);
    this.nextOut = y + 1;
  }

  /** The twin took `n` more source rows (so `finish` can check they all came). */
  countPushed(n: number): void {
    if (this.identity || n < 0 || this.y + n > this.srcH) {
      throw new RangeError(`RowResizer: ${this.y} + ${n} of ${this.srcH} rows`);
    }
    this.y += n;
  }

  /** Adds the next source row (RGBA, srcW * 4 bytes); the row is not kept. */
  push(src: Uint8Array | Uint8ClampedArray): void {
    const s = this.y;
    if (s >= this.srcH) throw new RangeError(`RowResizer: more than ${this.srcH} rows`);
    if (src.length < this.srcW * 4) {
      throw new RangeError(`RowResizer: a row of ${src.length} bytes, expected ${this.srcW * 4}`);
    }
    this.y = s + 1;
    if (this.identity) {
      const n = this.srcW * 4;
      this.out.set(src.length === n ? src : src.subarray(0, n), s * n);
      return;
    }
    const { start, count, weights, maxTaps } = this.yTaps;
    // Output rows fed by this source row: consecutive, from the lowest unfinished one.
    let first = this.nextOut;
    while (first < this.dstH && (start[first] ?? 0) + (count[first] ?? 0) - 1 < s) first++;
    let end = first;
    while (end < this.dstH && (start[end] ?? 0) <= s) end++;
    if (end === first) return; // not covered by any output row
    this.resampleRow(src);
    const row = this.row;
    const len = row.length;
    for (let y = first; y < end; y++) {
      const y0 = start[y] ?? 0;
      const w = weights[y * maxTaps + (s - y0)] ?? 0;
      const acc = this.accs[y % this.accs.length];
      if (!acc) throw new Error("RowResizer: no accumulator");
      const last = s === y0 + (count[y] ?? 0) - 1;
      if (s === y0) {
        if (last) acc.fill(0);
        else for (let i = 0; i < len; i++) acc[i] = (row[i] ?? 0) * w;
      } else if (!last) {
        for (let i = 0; i < len; i++) acc[i] = (acc[i] ?? 0) + (row[i] ?? 0) * w;
      }
      if (last) {
        this.emit(y, acc, w);
        this.nextOut = y + 1;
      }
    }
  }

  /** The output; throws unless every source row was pushed. */
  finish(): Rgba {
    if (this.y !== this.srcH) {
      throw new RangeError(`RowResizer: got ${this.y} of ${this.srcH} rows`);
    }
    return { width: this.dstW, height: this.dstH, data: this.out };
  }

  /**
   * Horizontal pass of one source row into `this.row`, premultiplied by alpha. Pixels are
   * read as one 32-bit word each (a quarter of the bounds-checked loads of reading bytes).
   */
  private resampleRow(src: Uint8Array | Uint8ClampedArray): void {
    let d: Uint32Array;
    if ((src.byteOffset & 3) === 0) {
      d = new Uint32Array(src.buffer, src.byteOffset, this.srcW);
    } else {
      this.scratch ??= new Uint32Array(this.srcW);
      d = this.scratch;
      new Uint8Array(d.buffer).set(src.subarray(0, this.srcW * 4));
    }
    const out = this.row;
    const tapEnd = this.tapEnd;
    const tapPixel = this.tapPixel;
    const tapWeight = this.tapWeight;
    for (let x = 0, m = 0, j = 0; x < this.dstW; x++, m += 4) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (const e = tapEnd[x] ?? 0; j < e; j++) {
        const v = d[tapPixel[j] ?? 0] ?? 0;
        const alpha = ((v >>> A) & 255) * (tapWeight[j] ?? 0);
        r += ((v >>> R) & 255) * alpha;
        g += ((v >>> G) & 255) * alpha;
        b += ((v >>> B) & 255) * alpha;
        a += alpha;
      }
      out[m] = r;
      out[m + 1] = g;
      out[m + 2] = b;
      out[m + 3] = a;
    }
  }

  /**
   * Adds the current row (its last source row) into output row y's accumulator and writes
   * the row out, unpremultiplied. Math.fround is the float32 rounding storing into the
   * accumulator would do, so the result is the same as accumulating first.
   */
  private emit(y: number, acc: Float32Array, w: number): void {
    const out = this.out;
    const row = this.row;
    const o = y * this.dstW * 4;
    for (let m = 0, end = this.dstW * 4; m < end; m += 4) {
      const a = Math.fround((acc[m + 3] ?? 0) + (row[m + 3] ?? 0) * w);
      if (a > 0) {
        out[o + m] = Math.fround((acc[m] ?? 0) + (row[m] ?? 0) * w) / a;
        out[o + m + 1] = Math.fround((acc[m + 1] ?? 0) + (row[m + 1] ?? 0) * w) / a;
        out[o + m + 2] = Math.fround((acc[m + 2] ?? 0) + (row[m + 2] ?? 0) * w) / a;
      }
      out[o + m + 3] = a;
    }
  }
}
