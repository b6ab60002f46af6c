// resize.c: RowResizer.push's arithmetic in WASM (see there).
#pragma once
#include <stdint.h>

#ifndef EXPORT
#define EXPORT(name) __attribute__((export_name(#name), used))
#endif

/** A resizer is set up (av_resize_new): av_resize_push takes the rows. */
int av_resize_active(void);
/** Source rows pushed since av_resize_new. */
int av_resize_rows(void);
/** The next source row, RGBA8 (4-byte aligned), `opaque` if every alpha is 255; 0 or an AV_ status. */
int av_resize_push(const uint8_t* src, int opaque);

/** The tables of the resizer set up by av_resize_new (NULL when none), for resize-yuv.c. */
typedef struct {
  int src_w, src_h, dst_w, dst_h;
  const int32_t* tap_end;  // x: output x uses taps tap_end[x - 1] .. tap_end[x] - 1
  const int32_t* tap_pixel;
  const double* tap_weight;
  const int32_t* y_start;  // y: output y covers source rows y_start[y] .. + y_count[y] - 1
  const int32_t* y_count;
  const float* y_weights;  // y_weights[y * y_max + k]
  int y_max;
  int acc_n;
  int rows;  // source rows taken so far
} ResizePlan;
const ResizePlan* av_resize_plan(void);
/** One more source row taken (by resize-yuv.c); 0 or an AV_ status. */
int av_resize_count_row(void);
/** Output row y is finished: dst_w RGBA8 pixels, out to JS. */
void av_resize_emit(int y, const uint8_t* rgba);

/** The planar path is allowed (av_resize_planar, on unless turned off) and a resizer is set up. */
int av_resize_planar_allowed(void);
/**
 * Starts (or continues) the planar path (resize-yuv.c) for an image whose rows start at
 * luma column x0 and row y0, chroma subsampled by sx, sy, of 8-bit (hbd 0) or 16-bit
 * samples, converted by k (yoff, yscale, coff, cscale, crr, cbg, crg, cbb); 0 or an AV_ status.
 */
int av_resize_yuv_begin(int sx, int sy, int x0, int y0, int hbd, const double k[8]);
/**
 * Image row y (the next one) as planes: its luma samples from column x0 (py) and the
 * whole chroma rows it uses (pu, pv, from column 0); 0 or an AV_ status.
 */
int av_resize_yuv_row(int y, const uint8_t* py, const uint8_t* pu, const uint8_t* pv);
void av_resize_yuv_free(void);
