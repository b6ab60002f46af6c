// The arithmetic of src/image/row-resize.ts's RowResizer.push, in WASM: the decoded RGBA
// rows of an AVIF are area-averaged where they are made instead of being copied out to
// JS row by row (in Node, the JS push was ~27 % of a 12 MP AVIF's decode path). The JS
// RowResizer stays the one place that decides the taps (it hands its tables over,
// av_resize_new) and holds the output (each finished output row, unpremultiplied as its
// emit() does, goes to it through the import av_resized).
//
// Bit-identical to the JS: every operation is the double-precision one JS performs, in
// the same order, rounded to float32 where JS stores into a Float32Array. No fast-math
// (this file is built with plain -O3), and WASM has no fused multiply-add to contract to.

#include "resize.h"

#include <stdlib.h>
#include <string.h>
#include <wasm_simd128.h>

/** JS: output row y is finished, dstW RGBA8 pixels at `rgba` (valid during the call). */
__attribute__((import_module("env"), import_name("av_resized"))) void av_resized(int y,
                                                                                const uint8_t* rgba);

typedef struct {
  int src_w, src_h, dst_w, dst_h;
  // x: output x uses taps tap_end[x-1] .. tap_end[x]-1 (source pixel, weight)
  int32_t* tap_end;
  int32_t* tap_pixel;
  double* tap_weight;
  // opaque rows (alpha 255 everywhere): 255 * tap_weight, and each output's alpha sum,
  // the same for every such row
  double* tap_alpha255;
  float* alpha255;
  // y: output row y covers source rows y_start[y] .. + y_count[y] - 1, weights y_weights[y * y_max + k]
  int32_t* y_start;
  int32_t* y_count;
  float* y_weights;
  int y_max;
  int acc_n;   // accumulators (output rows one source row can feed at once)
  float* row;  // the current source row resampled horizontally
  float* accs; // acc_n rows of dst_w * 4
  float* fin;  // a finished output row's sums
  uint8_t* rgba; // a finished output row
  int y;       // next source row
  int next_out;
} Resizer;

static Resizer rz;
static int rz_on = 0;

int av_resize_active(void) { return rz_on; }

const ResizePlan* av_resize_plan(void) {
  static ResizePlan plan;
  if (!rz_on) return NULL;
  plan = (ResizePlan){rz.src_w,   rz.src_h,     rz.dst_w,   rz.dst_h,     rz.tap_end,
                      rz.tap_pixel, rz.tap_weight, rz.y_start, rz.y_count, rz.y_weights,
                      rz.y_max,   rz.acc_n,     rz.y};
  return &plan;
}

/** Whether decode.c may take the planar path (resize-yuv.c); tests turn it off. */
static int planar_allowed = 1;
EXPORT(av_resize_planar) void av_resize_planar(int on) { planar_allowed = on != 0; }
int av_resize_planar_allowed(void) { return rz_on && planar_allowed; }

int av_resize_count_row(void) {
  if (!rz_on || rz.y >= rz.src_h) return 4;
  rz.y++;
  return 0;
}

void av_resize_emit(int y, const uint8_t* rgba) { av_resized(y, rgba); }
EXPORT(av_resize_rows) int av_resize_rows(void) { return rz_on ? rz.y : 0; }

EXPORT(av_resize_free) void av_resize_free(void) {
  if (!rz_on) return;
  free(rz.tap_end);
  free(rz.tap_pixel);
  free(rz.tap_weight);
  free(rz.tap_alpha255);
  free(rz.alpha255);
  free(rz.y_start);
  free(rz.y_count);
  free(rz.y_weights);
  free(rz.row);
  free(rz.accs);
  free(rz.fin);
  free(rz.rgba);
  memset(&rz, 0, sizeof rz);
  rz_on = 0;
  av_resize_yuv_free();
}

/**
 * Takes the tables (malloc'd by the caller, owned from here on, freed by av_resize_free):
 * tap_end[dst_w], tap_pixel/tap_weight[tap_end[dst_w - 1]], y_start/y_count[dst_h],
 * y_weights[dst_h * y_max]. Rows then go in through av_resize_push.
 */
EXPORT(av_resize_new)
int av_resize_new(int src_w, int src_h, int dst_w, int dst_h, int32_t* tap_end,
                  int32_t* tap_pixel, double* tap_weight, int32_t* y_start, int32_t* y_count,
                  float* y_weights, int y_max, int acc_n) {
  av_resize_free();
  rz.tap_end = tap_end;
  rz.tap_pixel = tap_pixel;
  rz.tap_weight = tap_weight;
  rz.y_start = y_start;
  rz.y_count = y_count;
  rz.y_weights = y_weights;
  rz_on = 1;  // from here av_resize_free frees the tables, whatever happens next
  if (src_w < 1 || src_h < 1 || dst_w < 1 || dst_h < 1 || dst_w > src_w || dst_h > src_h ||
      y_max < 1 || acc_n < 1 || acc_n > 4 || !tap_end || !tap_pixel || !tap_weight ||
      !y_start || !y_count || !y_weights) {
    av_resize_free();
    return 4;  // AV_BAD_ARGUMENT
  }
  // The tables come from JS's RowResizer, but a wrong one must not read out of bounds.
  for (int x = 0, prev = 0; x < dst_w; x++) {
    if (tap_end[x] < prev) goto bad;
    prev = tap_end[x];
  }
  for (int j = 0; j < tap_end[dst_w - 1]; j++)
    if (tap_pixel[j] < 0 || tap_pixel[j] >= src_w) goto bad;
  for (int y = 0; y < dst_h; y++)
    if (y_start[y] < 0 || y_count[y] < 1 || y_count[y] > y_max) goto bad;
  rz.src_w = src_w;
  rz.src_h = src_h;
  rz.dst_w = dst_w;
  rz.dst_h = dst_h;
  rz.y_max = y_max;
  rz.acc_n = acc_n;
  const size_t len = (size_t)dst_w * 4;
  rz.row = malloc(len * sizeof(float));
  rz.accs = malloc(len * acc_n * sizeof(float));
  rz.fin = malloc(len * sizeof(float));
  rz.rgba = malloc(len);
  const int taps = tap_end[dst_w - 1];
  rz.tap_alpha255 = malloc((size_t)(taps > 0 ? taps : 1) * sizeof(double));
  rz.alpha255 = malloc((size_t)dst_w * sizeof(float));
  if (!rz.row || !rz.accs || !rz.fin || !rz.rgba || !rz.tap_alpha255 || !rz.alpha255) {
    av_resize_free();
    return 3;  // AV_TOO_LARGE
  }
  for (int x = 0, j = 0; x < dst_w; x++) {
    double a = 0;  // resample_row's alpha sum over a row of 255s, in its order
    for (; j < tap_end[x]; j++) {
      rz.tap_alpha255[j] = 255.0 * tap_weight[j];
      a += rz.tap_alpha255[j];
    }
    rz.alpha255[x] = (float)a;
  }
  return 0;
bad:
  av_resize_free();
  return 4;
}

/**
 * RowResizer.resampleRow: one RGBA8 source row (4-byte aligned) into rz.row; `opaque`:
 * every alpha in it is 255. (A WASM SIMD
 * version, two doubles per lane pair, measured no faster in Node: the loads dominate.)
 */
static void resample_row(const uint8_t* src, int opaque) {
  const int32_t* tap_end = rz.tap_end;
  const int32_t* tap_pixel = rz.tap_pixel;
  const double* tap_weight = rz.tap_weight;
  float* out = rz.row;
  if (opaque) {
    // Every alpha is 255: alpha * weight is tap_alpha255, and the alpha sum alpha255.
    const double* tap_alpha = rz.tap_alpha255;
    for (int x = 0, j = 0; x < rz.dst_w; x++) {
      double r = 0, g = 0, b = 0;
      for (const int e = tap_end[x]; j < e; j++) {
        const uint8_t* p = src + (size_t)tap_pixel[j] * 4;
        const double alpha = tap_alpha[j];
        r += (double)p[0] * alpha;
        g += (double)p[1] * alpha;
        b += (double)p[2] * alpha;
      }
      out[x * 4] = (float)r;
      out[x * 4 + 1] = (float)g;
      out[x * 4 + 2] = (float)b;
      out[x * 4 + 3] = rz.alpha255[x];
    }
    return;
  }
  for (int x = 0, j = 0; x < rz.dst_w; x++) {
    double r = 0, g = 0, b = 0, a = 0;
    for (const int e = tap_end[x]; j < e; j++) {
      const uint8_t* p = src + (size_t)tap_pixel[j] * 4;
      const double alpha = (double)p[3] * tap_weight[j];
      r += (double)p[0] * alpha;
      g += (double)p[1] * alpha;
      b += (double)p[2] * alpha;
      a += alpha;
    }
    out[x * 4] = (float)r;
    out[x * 4 + 1] = (float)g;
    out[x * 4 + 2] = (float)b;
    out[x * 4 + 3] = (float)a;
  }
}

/** JS's Uint8ClampedArray store: NaN and below 0 to 0, above 255 to 255, else to nearest, ties to even. */
static inline uint8_t clamped(double v) {
  if (!(v > 0)) return 0;
  if (v >= 255) return 255;
  return (uint8_t)__builtin_rint(v);  // f64.nearest: ties to even
}

/** RowResizer.emit on the finished sums (rz.fin): unpremultiplied RGBA8, out to JS. */
static void emit(int y) {
  const float* fin = rz.fin;
  uint8_t* o = rz.rgba;
  for (int m = 0, end = rz.dst_w * 4; m < end; m += 4) {
    const float a = fin[m + 3];
    if (a > 0) {
      o[m] = clamped((double)fin[m] / (double)a);
      o[m + 1] = clamped((double)fin[m + 1] / (double)a);
      o[m + 2] = clamped((double)fin[m + 2] / (double)a);
    } else {
      o[m] = o[m + 1] = o[m + 2] = 0;  // JS leaves the (zeroed) output as it is
    }
    o[m + 3] = clamped((double)a);
  }
  av_resized(y, o);
}

/**
 * out[i] = (float)(base[i] + (double)row[i] * w) for i < len (base NULL: 0.0), four at a
 * time: f32 → f64 (exact), the same double multiply and add per lane, f64 → f32 with the
 * same rounding as the scalar cast. len is a multiple of 4 (RGBA).
 */
/** out[i] = (float)((double)row[i] * w): accumulate without the add. */
static void accumulate_first(float* out, const float* row, double w, int len) {
  const v128_t vw = wasm_f64x2_splat(w);
  for (int i = 0; i < len; i += 4) {
    const v128_t r = wasm_v128_load(row + i);
    const v128_t lo = wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(r), vw);
    const v128_t hi =
        wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(r, r, 2, 3, 0, 1)), vw);
    const v128_t dlo = wasm_f32x4_demote_f64x2_zero(lo), dhi = wasm_f32x4_demote_f64x2_zero(hi);
    wasm_v128_store(out + i, wasm_i32x4_shuffle(dlo, dhi, 0, 1, 4, 5));
  }
}

static void accumulate(float* out, const float* base, const float* row, double w, int len) {
  const v128_t vw = wasm_f64x2_splat(w);
  for (int i = 0; i < len; i += 4) {
    const v128_t r = wasm_v128_load(row + i);
    v128_t lo = wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(r), vw);
    v128_t hi = wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(r, r, 2, 3, 0, 1)), vw);
    if (base) {
      const v128_t b = wasm_v128_load(base + i);
      lo = wasm_f64x2_add(wasm_f64x2_promote_low_f32x4(b), lo);
      hi = wasm_f64x2_add(wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(b, b, 2, 3, 0, 1)), hi);
    } else {
      lo = wasm_f64x2_add(wasm_f64x2_splat(0.0), lo);
      hi = wasm_f64x2_add(wasm_f64x2_splat(0.0), hi);
    }
    const v128_t dlo = wasm_f32x4_demote_f64x2_zero(lo), dhi = wasm_f32x4_demote_f64x2_zero(hi);
    wasm_v128_store(out + i, wasm_i32x4_shuffle(dlo, dhi, 0, 1, 4, 5));
  }
}

int av_resize_push(const uint8_t* src, int opaque) {
  const int s = rz.y;
  if (!rz_on || s >= rz.src_h) return 4;
  rz.y = s + 1;
  const int32_t* start = rz.y_start;
  const int32_t* count = rz.y_count;
  int first = rz.next_out;
  while (first < rz.dst_h && start[first] + count[first] - 1 < s) first++;
  int end = first;
  while (end < rz.dst_h && start[end] <= s) end++;
  if (end == first) return 0;  // not covered by any output row
  resample_row(src, opaque);
  const float* row = rz.row;
  const int len = rz.dst_w * 4;
  for (int y = first; y < end; y++) {
    const int y0 = start[y];
    const double w = (double)rz.y_weights[(size_t)y * rz.y_max + (s - y0)];
    float* acc = rz.accs + (size_t)(y % rz.acc_n) * len;
    const int last = s == y0 + count[y] - 1;
    if (last) {
      // JS: acc (zero when this is also the first row) + row * w, rounded to float32.
      float* fin = rz.fin;
      accumulate(fin, s == y0 ? NULL : acc, row, w, len);
      emit(y);
      rz.next_out = y + 1;
    } else if (s == y0) {
      accumulate_first(acc, row, w, len);
    } else {
      accumulate(acc, acc, row, w, len);
    }
  }
  return 0;
}
