// The planar path of the resizer: an opaque YCbCr image without a gamut step (decode.c's
// `planar`) is area-averaged as its planes, Y at luma resolution and Cb, Cr at their own,
// and converted to RGB only at the output size. YCbCr → R'G'B' is affine and the
// averaging linear, so this is resize.c's convert-then-average but for where the 8-bit
// rounding and the clamp to [0, 1] fall: within 1 except where a saturated colour
// clamped (see README.md). It converts an eighth of the pixels and resamples 1.5 samples
// a pixel (4:2:0) instead of RGB's 3.
//
// Vertical first: each source row is added (int32, 2^-14 weights, WASM SIMD) into the
// accumulators of the output rows it covers, at source width; an output row's accumulator
// is resampled horizontally once, when its last source row has come (1080 times for a
// 12 MP photo instead of 3000). Chroma rows go into accumulators of their own, weighted
// by the luma rows they stand for (nearest upsampling, averaged exactly). Finished rows
// wait in two small rings until both Y and chroma have them, then go out as RGBA8.
// Integer sums, then float32: no bit-exactness to keep here (the RGBA path keeps the JS
// arithmetic). Rounding a weight to 2^-14 moves an average by hundredths of a level at
// most, and each output is divided by the sum of its rounded weights.

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <wasm_simd128.h>

#include "resize.h"

/** Finished output rows held until the other plane's are: chroma can run one row ahead. */
#define RING 4

typedef struct {
  int on, err;
  int sx, sy, x0, y0, hbd;
  int src_w, src_h, dst_w, dst_h;
  const ResizePlan* p;
  float* tw;     // luma x tap weights (the columns are the plan's)
  float* inv_h;  // per output column: 1 / its tap weights' sum
  // chroma x taps over chroma columns [c_lo, c_lo + c_w), an output's taps on one column merged
  int c_lo, c_w;
  int32_t *c_end, *c_pixel;
  float *c_weight, *c_inv_h;
  // chroma y: output y covers chroma rows cy_start[y] .. + cy_count[y] - 1 (from the first)
  int32_t *cy_start, *cy_count;
  int16_t* cy_weight;  // [y * p->y_max + k], in units of 2^-14
  int16_t* y_weight;   // the plan's luma weights, in units of 2^-14
  int c_rows, c_acc_n;
  float *inv_v, *c_inv_v;
  int32_t *yacc, *cacc;  // acc_n rows of src_w; c_acc_n rows of 2 * c_w (Cb, then Cr)
  int y_in, c_in;      // source rows taken
  int y_next, c_next;  // lowest output row not finished
  int emitted;
  float *yring, *cring;  // RING rows of dst_w; of 2 * dst_w
  uint8_t* rgba;
  float k[8];
} Yuv;
static Yuv q;

void av_resize_yuv_free(void) {
  void* owned[] = {q.tw,       q.inv_h,     q.c_end, q.c_pixel, q.c_weight, q.c_inv_h,
                   q.cy_start, q.cy_count,  q.cy_weight, q.y_weight, q.inv_v, q.c_inv_v, q.yacc,
                   q.cacc,     q.yring,     q.cring, q.rgba};
  for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++) free(owned[i]);
  memset(&q, 0, sizeof q);
}

static void* alloc(size_t n, size_t size) { return malloc((n ? n : 1) * size); }

int av_resize_yuv_begin(int sx, int sy, int x0, int y0, int hbd, const double k[8]) {
  const ResizePlan* p = av_resize_plan();
  if (!p) return 4;
  if (q.on) return q.sx == sx && q.sy == sy && q.x0 == x0 && q.hbd == hbd ? 0 : 4;
  if (p->rows != 0) return 4;  // every row of an image takes one path
  av_resize_yuv_free();
  q.p = p;
  q.sx = sx, q.sy = sy, q.x0 = x0, q.y0 = y0, q.hbd = hbd;
  q.src_w = p->src_w, q.src_h = p->src_h, q.dst_w = p->dst_w, q.dst_h = p->dst_h;
  for (int i = 0; i < 8; i++) q.k[i] = (float)k[i];
  const int taps = p->tap_end[p->dst_w - 1];
  const int dw = p->dst_w, dh = p->dst_h;
  q.c_lo = x0 >> sx;
  q.c_w = ((x0 + p->src_w - 1) >> sx) - q.c_lo + 1;
  const int cy0 = y0 >> sy;
  q.c_rows = ((y0 + p->src_h - 1) >> sy) - cy0 + 1;
  q.tw = alloc(taps, sizeof(float));
  q.inv_h = alloc(dw, sizeof(float));
  q.c_end = alloc(dw, sizeof(int32_t));
  q.c_pixel = alloc(taps, sizeof(int32_t));
  q.c_weight = alloc(taps, sizeof(float));
  q.c_inv_h = alloc(dw, sizeof(float));
  q.cy_start = alloc(dh, sizeof(int32_t));
  q.cy_count = alloc(dh, sizeof(int32_t));
  q.cy_weight = alloc((size_t)dh * p->y_max, sizeof(int16_t));
  q.y_weight = alloc((size_t)dh * p->y_max, sizeof(int16_t));
  q.inv_v = alloc(dh, sizeof(float));
  q.c_inv_v = alloc(dh, sizeof(float));
  q.yring = alloc((size_t)RING * dw, sizeof(float));
  q.cring = alloc((size_t)RING * 2 * dw, sizeof(float));
  q.rgba = alloc((size_t)dw * 4, 1);
  if (!q.tw || !q.inv_h || !q.c_end || !q.c_pixel || !q.c_weight || !q.c_inv_h || !q.cy_start ||
      !q.cy_count || !q.cy_weight || !q.y_weight || !q.inv_v || !q.c_inv_v || !q.yring || !q.cring || !q.rgba)
    goto oom;
  // x: luma weights as float, chroma taps merged per chroma column, each output's sums.
  for (int x = 0, j = 0, n = 0; x < dw; x++) {
    const int first = n;
    double sum = 0;
    for (; j < p->tap_end[x]; j++) {
      const double w = p->tap_weight[j];
      const int c = ((x0 + p->tap_pixel[j]) >> sx) - q.c_lo;
      q.tw[j] = (float)w;
      if (n > first && q.c_pixel[n - 1] == c) {
        q.c_weight[n - 1] += (float)w;
      } else {
        q.c_pixel[n] = c;
        q.c_weight[n++] = (float)w;
      }
      sum += w;
    }
    q.c_end[x] = n;
    q.inv_h[x] = q.c_inv_h[x] = (float)(1.0 / sum);
  }
  // y: each output's luma weights and its chroma rows (weighted by the luma rows they stand
  // for) in units of 2^-14, and the sums those come to.
  for (int y = 0; y < dh; y++) {
    const int s0 = p->y_start[y];
    int16_t* yw = q.y_weight + (size_t)y * p->y_max;
    int16_t* cw = q.cy_weight + (size_t)y * p->y_max;
    float cf[64];  // chroma weights before rounding
    int ysum = 0, csum = 0, n = 0;
    for (int kk = 0; kk < p->y_count[y]; kk++) {
      const float w = p->y_weights[(size_t)y * p->y_max + kk];
      const int c = ((y0 + s0 + kk) >> sy) - cy0;
      yw[kk] = (int16_t)lrintf(w * 16384.0f);
      ysum += yw[kk];
      if (kk == 0) q.cy_start[y] = c;
      if (n > 0 && q.cy_start[y] + n - 1 == c) {
        cf[n - 1] += w;
      } else if (n < 64) {
        cf[n++] = w;
      } else {
        goto oom;  // (64 chroma rows to one output: such a strip keeps the RGBA path)
      }
    }
    for (int kk = 0; kk < n; kk++) {
      cw[kk] = (int16_t)lrintf(cf[kk] * 16384.0f);
      csum += cw[kk];
    }
    q.cy_count[y] = n;
    if (ysum <= 0 || csum <= 0) goto oom;
    q.inv_v[y] = 1.0f / (float)ysum;
    q.c_inv_v[y] = 1.0f / (float)csum;
  }
  // Accumulators: as many as output rows one source row can feed at once.
  q.c_acc_n = 1;
  for (int y = 0; y < dh; y++) {
    const int last = q.cy_start[y] + q.cy_count[y] - 1;
    int n = 1;
    while (y + n < dh && q.cy_start[y + n] <= last) n++;
    if (n > q.c_acc_n) q.c_acc_n = n;
  }
  if (q.c_acc_n > RING) goto oom;  // (only an upscale could; the plan refuses those)
  q.yacc = alloc((size_t)p->acc_n * p->src_w, sizeof(int32_t));
  q.cacc = alloc((size_t)q.c_acc_n * 2 * q.c_w, sizeof(int32_t));
  if (!q.yacc || !q.cacc) goto oom;
  q.on = 1;
  return 0;
oom:
  av_resize_yuv_free();
  return 3;
}

/** acc = samples * w (ADD 0) or acc + samples * w (ADD 1), 16 or 8 samples at a time. */
#define MADD(name, ADD)                                                                      \
  static void name(int32_t* acc, const uint8_t* src, int n, int16_t w, int hbd) {           \
    const v128_t vw = wasm_i16x8_splat(w);                                                   \
    int i = 0;                                                                               \
    if (!hbd) {                                                                              \
      for (; i + 16 <= n; i += 16) {                                                         \
        const v128_t b = wasm_v128_load(src + i);                                            \
        const v128_t lo = wasm_u16x8_extend_low_u8x16(b);                                    \
        const v128_t hi = wasm_u16x8_extend_high_u8x16(b);                                   \
        STEP(0, wasm_i32x4_extmul_low_i16x8(lo, vw), ADD)                                    \
        STEP(4, wasm_i32x4_extmul_high_i16x8(lo, vw), ADD)                                   \
        STEP(8, wasm_i32x4_extmul_low_i16x8(hi, vw), ADD)                                    \
        STEP(12, wasm_i32x4_extmul_high_i16x8(hi, vw), ADD)                                  \
      }                                                                                      \
      for (; i < n; i++) acc[i] = (ADD ? acc[i] : 0) + src[i] * w;                           \
    } else {                                                                                 \
      /* (samples of at most 12 bits: within int16) */                                       \
      const uint16_t* s = (const uint16_t*)src;                                              \
      for (; i + 8 <= n; i += 8) {                                                           \
        const v128_t h = wasm_v128_load(s + i);                                              \
        STEP(0, wasm_i32x4_extmul_low_i16x8(h, vw), ADD)                                     \
        STEP(4, wasm_i32x4_extmul_high_i16x8(h, vw), ADD)                                    \
      }                                                                                      \
      for (; i < n; i++) acc[i] = (ADD ? acc[i] : 0) + s[i] * w;                             \
    }                                                                                        \
  }
#define STEP(k, v, ADD)                                                                      \
  wasm_v128_store(acc + i + k, ADD ? wasm_i32x4_add(wasm_v128_load(acc + i + k), v) : v);
MADD(mul_into, 0)
MADD(madd_into, 1)
#undef STEP
#undef MADD

/** Output row y as RGBA8 from the rings (both planes have it), out to JS. */
static void emit(int y) {
  const float* Y = q.yring + (size_t)(y % RING) * q.dst_w;
  const float* Cb = q.cring + (size_t)(y % RING) * 2 * q.dst_w;
  const float* Cr = Cb + q.dst_w;
  // (v - off) * scale * 255 + 0.5, truncated and clamped: decode.c's fix8 on averages.
  const v128_t yoff = wasm_f32x4_splat(q.k[0]), ys = wasm_f32x4_splat(q.k[1] * 255.0f);
  const v128_t coff = wasm_f32x4_splat(q.k[2]), cs = wasm_f32x4_splat(q.k[3] * 255.0f);
  const v128_t crr = wasm_f32x4_splat(q.k[4]), cbg = wasm_f32x4_splat(q.k[5]);
  const v128_t crg = wasm_f32x4_splat(q.k[6]), cbb = wasm_f32x4_splat(q.k[7]);
  const v128_t half = wasm_f32x4_splat(0.5f), zero = wasm_i32x4_splat(0);
  const v128_t max = wasm_i32x4_splat(255), opaque = wasm_i32x4_splat((int32_t)0xff000000u);
  uint8_t* o = q.rgba;
  int x = 0;
#define TO8(v) wasm_i32x4_min(wasm_i32x4_max(wasm_i32x4_trunc_sat_f32x4(v), zero), max)
  for (; x + 4 <= q.dst_w; x += 4) {
    const v128_t l = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(Y + x), yoff), ys), half);
    const v128_t b = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(Cb + x), coff), cs);
    const v128_t r = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(Cr + x), coff), cs);
    const v128_t R = TO8(wasm_f32x4_add(l, wasm_f32x4_mul(crr, r)));
    const v128_t G = TO8(wasm_f32x4_sub(l, wasm_f32x4_add(wasm_f32x4_mul(cbg, b), wasm_f32x4_mul(crg, r))));
    const v128_t B = TO8(wasm_f32x4_add(l, wasm_f32x4_mul(cbb, b)));
    const v128_t px = wasm_v128_or(wasm_v128_or(R, wasm_i32x4_shl(G, 8)),
                                   wasm_v128_or(wasm_i32x4_shl(B, 16), opaque));
    wasm_v128_store(o + x * 4, px);
  }
#undef TO8
  for (; x < q.dst_w; x++) {
    const float l = (Y[x] - q.k[0]) * q.k[1] * 255.0f + 0.5f;
    const float b = (Cb[x] - q.k[2]) * q.k[3] * 255.0f, r = (Cr[x] - q.k[2]) * q.k[3] * 255.0f;
    const float v[3] = {l + q.k[4] * r, l - (q.k[5] * b + q.k[6] * r), l + q.k[7] * b};
    for (int c = 0; c < 3; c++) o[x * 4 + c] = v[c] <= 0 ? 0 : v[c] >= 255 ? 255 : (uint8_t)(int)v[c];
    o[x * 4 + 3] = 255;
  }
  av_resize_emit(y, o);
}

static void flush(void) {
  while (q.emitted < q.y_next && q.emitted < q.c_next) emit(q.emitted++);
}

/** Luma output row y's accumulator resampled into its ring slot. */
static void finish_y(int y, const int32_t* acc) {
  const int32_t* end = q.p->tap_end;
  const int32_t* px = q.p->tap_pixel;
  float* out = q.yring + (size_t)(y % RING) * q.dst_w;
  const float iv = q.inv_v[y];
  for (int x = 0, j = 0; x < q.dst_w; x++) {
    float v = 0;
    for (const int e = end[x]; j < e; j++) v += (float)acc[px[j]] * q.tw[j];
    out[x] = v * q.inv_h[x] * iv;
  }
}

/** Chroma output row y's accumulators (Cb, Cr) resampled into its ring slot. */
static void finish_c(int y, const int32_t* acc) {
  const int32_t* cr = acc + q.c_w;
  float* ob = q.cring + (size_t)(y % RING) * 2 * q.dst_w;
  float* orr = ob + q.dst_w;
  const float iv = q.c_inv_v[y];
  for (int x = 0, j = 0; x < q.dst_w; x++) {
    float b = 0, r = 0;
    for (const int e = q.c_end[x]; j < e; j++) {
      const int c = q.c_pixel[j];
      const float w = q.c_weight[j];
      b += (float)acc[c] * w;
      r += (float)cr[c] * w;
    }
    const float s = q.c_inv_h[x] * iv;
    ob[x] = b * s;
    orr[x] = r * s;
  }
}

/**
 * Source row s of one plane set into the outputs it covers (from *next on); each output
 * whose last row it is is resampled (finish) and *next moves past it.
 */
static int vertical(int s, const int32_t* start, const int32_t* count, const int16_t* weights,
                    int acc_n, int32_t* accs, int width, const uint8_t* const src[2], int n,
                    int* next, void (*finish)(int, const int32_t*)) {
  int first = *next;
  while (first < q.dst_h && start[first] + count[first] - 1 < s) first++;
  for (int y = first; y < q.dst_h && start[y] <= s; y++) {
    if (y - q.emitted >= RING) return 4;  // the other plane fell behind (never, see RING)
    const int16_t w = weights[(size_t)y * q.p->y_max + (s - start[y])];
    int32_t* acc = accs + (size_t)(y % acc_n) * width;
    const int part = width / n;
    for (int c = 0; c < n; c++) {
      if (s == start[y]) mul_into(acc + c * part, src[c], part, w, q.hbd);
      else madd_into(acc + c * part, src[c], part, w, q.hbd);
    }
    if (s == start[y] + count[y] - 1) {
      finish(y, acc);
      *next = y + 1;
    }
  }
  return 0;
}

int av_resize_yuv_row(int y, const uint8_t* py, const uint8_t* pu, const uint8_t* pv) {
  if (!q.on || q.err) return q.err ? q.err : 4;
  const int s = y - q.y0;
  if (s != q.y_in || s >= q.src_h) return q.err = 4;
  int st = av_resize_count_row();
  const int cs = (y >> q.sy) - (q.y0 >> q.sy);
  if (!st && cs == q.c_in) {
    // A chroma row's first luma row brings it (from its first column held).
    const size_t off = (size_t)q.c_lo << q.hbd;
    const uint8_t* const c[2] = {pu + off, pv + off};
    st = vertical(cs, q.cy_start, q.cy_count, q.cy_weight, q.c_acc_n, q.cacc, 2 * q.c_w, c, 2,
                  &q.c_next, finish_c);
    q.c_in++;
  }
  if (!st) {
    const uint8_t* const l[2] = {py, NULL};
    st = vertical(s, q.p->y_start, q.p->y_count, q.y_weight, q.p->acc_n, q.yacc, q.src_w, l,
                  1, &q.y_next, finish_y);
    q.y_in++;
  }
  if (st) return q.err = st;
  flush();
  return 0;
}
