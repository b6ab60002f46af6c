// The arithmetic of src/image/row-resize.ts's RowResizer.push, in WASM: the decoded RGBA
// rows of an AVIF are area-averaged where they are made instead of being copied out to
// JS row by row (in Node, the JS push was ~27 % of a 12 MP AVIF's decode path). The JS
// RowResizer stays the one place that decides the taps (it hands its tables over,
// av_resize_new) and writes the output (it receives each finished output row's
// premultiplied sums through the import av_sums and divides them by alpha).
//
// Bit-identical to the JS: every operation is the double-precision one JS performs, in
// the same order, rounded to float32 where JS stores into a Float32Array. No fast-math
// (this file is built with plain -O3), and WASM has no fused multiply-add to contract to.

#include "resize.h"

#include <stdlib.h>
#include <string.h>

/** JS: output row y is finished; `sums` holds dstW premultiplied RGBA float sums. */
__attribute__((import_module("env"), import_name("av_sums"))) void av_sums(int y,
                                                                          const float* sums);

typedef struct {
  int src_w, src_h, dst_w, dst_h;
  // x: output x uses taps tap_end[x-1] .. tap_end[x]-1 (source pixel, weight)
  int32_t* tap_end;
  int32_t* tap_pixel;
  double* tap_weight;
  // y: output row y covers source rows y_start[y] .. + y_count[y] - 1, weights y_weights[y * y_max + k]
  int32_t* y_start;
  int32_t* y_count;
  float* y_weights;
  int y_max;
  int acc_n;   // accumulators (output rows one source row can feed at once)
  float* row;  // the current source row resampled horizontally
  float* accs; // acc_n rows of dst_w * 4
  float* fin;  // a finished output row's sums
  int y;       // next source row
  int next_out;
} Resizer;

static Resizer rz;
static int rz_on = 0;

int av_resize_active(void) { return rz_on; }
EXPORT(av_resize_rows) int av_resize_rows(void) { return rz_on ? rz.y : 0; }

EXPORT(av_resize_free) void av_resize_free(void) {
  if (!rz_on) return;
  free(rz.tap_end);
  free(rz.tap_pixel);
  free(rz.tap_weight);
  free(rz.y_start);
  free(rz.y_count);
  free(rz.y_weights);
  free(rz.row);
  free(rz.accs);
  free(rz.fin);
  memset(&rz, 0, sizeof rz);
  rz_on = 0;
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
  if (!rz.row || !rz.accs || !rz.fin) {
    av_resize_free();
    return 3;  // AV_TOO_LARGE
  }
  return 0;
bad:
  av_resize_free();
  return 4;
}

/** RowResizer.resampleRow: one RGBA8 source row (4-byte aligned) into rz.row. */
static void resample_row(const uint8_t* src) {
  const int32_t* tap_end = rz.tap_end;
  const int32_t* tap_pixel = rz.tap_pixel;
  const double* tap_weight = rz.tap_weight;
  float* out = rz.row;
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

int av_resize_push(const uint8_t* src) {
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
  resample_row(src);
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
      if (s == y0) {
        for (int i = 0; i < len; i++) fin[i] = (float)(0.0 + (double)row[i] * w);
      } else {
        for (int i = 0; i < len; i++) fin[i] = (float)((double)acc[i] + (double)row[i] * w);
      }
      av_sums(y, fin);
      rz.next_out = y + 1;
    } else if (s == y0) {
      for (int i = 0; i < len; i++) acc[i] = (float)((double)row[i] * w);
    } else {
      for (int i = 0; i < len; i++) acc[i] = (float)((double)acc[i] + (double)row[i] * w);
    }
  }
  return 0;
}
