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
