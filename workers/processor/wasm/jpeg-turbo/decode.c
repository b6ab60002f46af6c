/*
 * Darkroom: a small libjpeg-turbo wrapper for WebAssembly (see build.sh, README.md).
 *
 * One shared, statically allocated result block (`dr_state()`) is filled by every call;
 * the JS glue reads it as int32 fields (layout: `struct dr_state` below, mirrored in
 * workers/processor/src/codecs/jpeg-turbo.ts). Single-threaded, one call at a time.
 *
 * libjpeg's error_exit is replaced by a longjmp back to the entry point, so corrupt,
 * unsupported or oversized input returns a status code and leaves the instance usable.
 * Warnings that mean the pixel data is damaged (truncation, bad Huffman code, lost
 * sync...) are promoted to errors on the spot (libjpeg would otherwise fill grey).
 */
#include <math.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jpeglib.h"
#include "jerror.h"

#define EXPORT(name) __attribute__((used, export_name(#name)))

/* Status codes (mirrored in the TS glue). */
enum {
  DR_OK = 0,
  DR_CORRUPT = 1,      /* damaged / truncated data */
  DR_UNSUPPORTED = 2,  /* 12-bit, lossless, unknown colour space... */
  DR_TOO_LARGE = 3,    /* out of memory or over the memory limit */
  DR_BAD_ARGUMENT = 4, /* e.g. scale denominator not in 1,2,4,8, a fit larger than the image */
  DR_NOT_JPEG = 5      /* no SOI marker / empty input */
};

/* Flags for dr_decode. */
#define DR_FLAG_FAST_DCT 1u      /* JDCT_IFAST instead of JDCT_ISLOW (only matters at 1/1) */
#define DR_FLAG_NO_FANCY_UPSAMPLE 2u

#define DR_MSG_LEN 200

struct dr_state {
  int32_t status;
  int32_t width;            /* full-size image dimensions */
  int32_t height;
  int32_t components;
  int32_t color_space;      /* J_COLOR_SPACE: 0 unknown, 1 gray, 2 RGB, 3 YCbCr, 4 CMYK, 5 YCCK */
  int32_t progressive;
  int32_t saw_adobe;        /* Adobe APP14 marker present */
  int32_t adobe_transform;  /* its transform code (0 none/CMYK, 1 YCbCr, 2 YCCK) */
  int32_t saw_jfif;
  int32_t precision;
  int32_t out_width;        /* decode only: output dimensions */
  int32_t out_height;
  int32_t pixels;           /* decode only: RGBA buffer (out_width*out_height*4), caller frees */
  int32_t num_warnings;
  int32_t first_warning;    /* libjpeg message code of the first warning, -1 if none */
  int32_t msg_code;         /* libjpeg message code behind a non-OK status, -1 if none */
  int32_t arithmetic;
  int32_t h_samp;           /* sampling factors of component 0 (2,2 = 4:2:0) */
  int32_t v_samp;
  int32_t scale_num;        /* dr_decode_fit only: the n of the n/8 scale libjpeg decoded at */
  char message[DR_MSG_LEN]; /* NUL-terminated text of the error, or the first warning */
};

static struct dr_state state;
static size_t memory_limit; /* bytes; 0 = unlimited (bounded by the module's MAXIMUM_MEMORY) */
/*
 * Most scans (SOS markers) a decode may read; 0 = no limit. libjpeg accepts any number of
 * scans, and each one walks every block of its components however few bytes it has (a
 * 44-byte AC refinement scan repeated 14,000 times kept a decode busy for 106 s): with a
 * cap, the work of a decode is bounded by scans x blocks. libvips and ImageMagick cap at
 * ~100 by default too.
 */
static uint32_t scan_limit;

/* Per-call scratch, kept in globals so nothing needs `volatile` across longjmp. */
static uint8_t *out_buf;
static uint8_t *row_buf;
static int finishing; /* inside jpeg_finish_decompress: all pixels already delivered */

struct dr_error_mgr {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
};

static int status_for_error(int code) {
  switch (code) {
    case JERR_NO_SOI:
    case JERR_INPUT_EMPTY:
      return DR_NOT_JPEG;
    case JERR_BAD_PRECISION:
    case JERR_SOF_UNSUPPORTED:
    case JERR_CONVERSION_NOTIMPL:
    case JERR_NOT_COMPILED:
    case JERR_EMPTY_IMAGE:
      return DR_UNSUPPORTED;
    case JERR_OUT_OF_MEMORY:
    case JERR_NO_BACKING_STORE: /* the memory limit was hit (no temp files here) */
    case JERR_IMAGE_TOO_BIG:
    case JERR_WIDTH_OVERFLOW:
      return DR_TOO_LARGE;
    default:
      return DR_CORRUPT;
  }
}

static void fail(j_common_ptr cinfo, int status) {
  struct dr_error_mgr *err = (struct dr_error_mgr *)cinfo->err;
  state.status = status;
  state.msg_code = err->pub.msg_code;
  if (err->pub.msg_code == JERR_NO_BACKING_STORE)
    snprintf(state.message, DR_MSG_LEN,
             "libjpeg needs more than the %lu-byte memory limit (whole-image coefficient "
             "buffer: progressive or multi-scan JPEG)", (unsigned long)memory_limit);
  else
    (*err->pub.format_message)(cinfo, state.message);
  longjmp(err->jump, 1);
}

static void on_error_exit(j_common_ptr cinfo) {
  fail(cinfo, status_for_error(cinfo->err->msg_code));
}

static int warning_is_fatal(int code) {
  switch (code) {
    case JWRN_JPEG_EOF:
      /* A missing EOI after every pixel was delivered is harmless. */
      return !finishing;
    case JWRN_ARITH_BAD_CODE:
    case JWRN_BOGUS_PROGRESSION:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL:
    case JWRN_TOO_MUCH_DATA:
      return 1;
    default: /* JWRN_EXTRANEOUS_DATA, JWRN_ADOBE_XFORM, JWRN_JFIF_MAJOR, JWRN_BOGUS_ICC */
      return 0;
  }
}

static void on_emit_message(j_common_ptr cinfo, int msg_level) {
  struct jpeg_error_mgr *err = cinfo->err;
  if (msg_level >= 0) return; /* trace messages */
  if (warning_is_fatal(err->msg_code)) fail(cinfo, DR_CORRUPT);
  if (err->num_warnings == 0) {
    state.first_warning = err->msg_code;
    (*err->format_message)(cinfo, state.message);
  }
  err->num_warnings++;
  state.num_warnings = (int32_t)err->num_warnings;
}

static void on_output_message(j_common_ptr cinfo) { (void)cinfo; }

/*
 * libjpeg calls this before each unit of work (an iMCU row of input, a group of output
 * rows): the one place a decode can be stopped while it runs. Over the scan cap it fails
 * with DR_TOO_LARGE before the extra scan is decoded.
 */
static void on_progress(j_common_ptr cinfo) {
  if (!cinfo->is_decompressor || scan_limit == 0) return;
  j_decompress_ptr d = (j_decompress_ptr)cinfo;
  if ((uint32_t)d->input_scan_number <= scan_limit) return;
  struct dr_error_mgr *err = (struct dr_error_mgr *)cinfo->err;
  state.status = DR_TOO_LARGE;
  state.msg_code = -1;
  snprintf(state.message, DR_MSG_LEN, "the JPEG has more than %u scans (the limit)",
           (unsigned)scan_limit);
  longjmp(err->jump, 1);
}

static void reset_state(void) {
  memset(&state, 0, sizeof state);
  state.first_warning = -1;
  state.msg_code = -1;
  out_buf = NULL;
  row_buf = NULL;
  finishing = 0;
}

static struct jpeg_progress_mgr progress;

static void init(struct jpeg_decompress_struct *cinfo, struct dr_error_mgr *err) {
  cinfo->err = jpeg_std_error(&err->pub);
  err->pub.error_exit = on_error_exit;
  err->pub.emit_message = on_emit_message;
  err->pub.output_message = on_output_message;
}

static void read_header(struct jpeg_decompress_struct *cinfo, const uint8_t *data, uint32_t len) {
  jpeg_create_decompress(cinfo);
  if (memory_limit) cinfo->mem->max_memory_to_use = (long)memory_limit;
  memset(&progress, 0, sizeof progress);
  progress.progress_monitor = on_progress;
  cinfo->progress = &progress;
  jpeg_mem_src(cinfo, data, len);
  jpeg_read_header(cinfo, TRUE);
  state.width = (int32_t)cinfo->image_width;
  state.height = (int32_t)cinfo->image_height;
  state.components = cinfo->num_components;
  state.color_space = cinfo->jpeg_color_space;
  state.progressive = cinfo->progressive_mode ? 1 : 0;
  state.saw_adobe = cinfo->saw_Adobe_marker ? 1 : 0;
  state.adobe_transform = cinfo->Adobe_transform;
  state.saw_jfif = cinfo->saw_JFIF_marker ? 1 : 0;
  state.precision = cinfo->data_precision;
  state.arithmetic = cinfo->arith_code ? 1 : 0;
  state.h_samp = cinfo->comp_info[0].h_samp_factor;
  state.v_samp = cinfo->comp_info[0].v_samp_factor;
}

EXPORT(dr_state) struct dr_state *dr_state(void) { return &state; }

/* 0 = no limit of our own. Values above 2^31-1 are clamped (libjpeg keeps it in a long). */
EXPORT(dr_set_memory_limit) void dr_set_memory_limit(uint32_t bytes) {
  memory_limit = bytes > 0x7fffffffu ? 0x7fffffffu : bytes;
}

/* 0 = no cap of our own. */
EXPORT(dr_set_scan_limit) void dr_set_scan_limit(uint32_t scans) { scan_limit = scans; }

/* Parse markers up to the first SOS, decode nothing. Returns the status. */
EXPORT(dr_read_header) int dr_read_header(const uint8_t *data, uint32_t len) {
  struct jpeg_decompress_struct cinfo;
  struct dr_error_mgr err;
  reset_state();
  init(&cinfo, &err);
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return state.status;
  }
  if (data == NULL || len == 0) ERREXIT(&cinfo, JERR_INPUT_EMPTY);
  read_header(&cinfo, data, len);
  jpeg_destroy_decompress(&cinfo);
  return DR_OK;
}

/* 0..255 * 0..255 / 255, rounded. */
static inline uint8_t mul255(unsigned a, unsigned b) {
  unsigned t = a * b + 128;
  return (uint8_t)((t + (t >> 8)) >> 8);
}

/* After a longjmp out of a decode: release everything the call had allocated. */
static void free_decode_buffers(void);

/*
 * Output colour space: `rgb_space` (JCS_EXT_RGBA or JCS_RGB) for grey, RGB and YCbCr;
 * CMYK for CMYK and YCCK (libjpeg does YCCK -> CMYK). Returns 1 for CMYK.
 */
static int choose_out_color_space(j_decompress_ptr cinfo, J_COLOR_SPACE rgb_space) {
  switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE:
    case JCS_RGB:
    case JCS_YCbCr:
      cinfo->out_color_space = rgb_space;
      return 0;
    case JCS_CMYK:
    case JCS_YCCK:
      cinfo->out_color_space = JCS_CMYK;
      return 1;
    default:
      ERREXIT(cinfo, JERR_CONVERSION_NOTIMPL);
      return 0;
  }
}

/* Refuses (DR_TOO_LARGE) an RGBA output over 2 GB or over the memory limit. */
static void check_output_size(j_decompress_ptr cinfo, uint32_t ow, uint32_t oh) {
  const uint64_t bytes = (uint64_t)ow * oh * 4u;
  if (bytes > 0x7fffffffu || (memory_limit && bytes > memory_limit)) {
    struct dr_error_mgr *err = (struct dr_error_mgr *)cinfo->err;
    state.status = DR_TOO_LARGE;
    state.msg_code = JERR_OUT_OF_MEMORY;
    snprintf(state.message, DR_MSG_LEN, "output %ux%u (%llu bytes) exceeds the memory limit",
             ow, oh, (unsigned long long)bytes);
    longjmp(err->jump, 1);
  }
}

/*
 * CMYK without colour management: Adobe files store inverted CMYK, so R = C*K/255 etc.;
 * others store ink amounts, R = (255-C)*(255-K)/255. `dst_px` is 4 (RGBA, alpha 255) or 3
 * (RGB; may convert in place, front to back, since 3 <= 4).
 */
static void cmyk_row_to_rgb(const uint8_t *src, uint8_t *dst, uint32_t n, int inverted,
                            int dst_px) {
  for (uint32_t x = 0; x < n; x++, src += 4, dst += dst_px) {
    unsigned c = src[0], m = src[1], yy = src[2], k = src[3];
    if (!inverted) {
      c = 255 - c;
      m = 255 - m;
      yy = 255 - yy;
      k = 255 - k;
    }
    dst[0] = mul255(c, k);
    dst[1] = mul255(m, k);
    dst[2] = mul255(yy, k);
    if (dst_px == 4) dst[3] = 255;
  }
}

/*
 * Decode at scale 1/denom (1, 2, 4 or 8) to 8-bit RGBA. On DR_OK, state.pixels points at
 * out_width*out_height*4 bytes that the caller must free(). CMYK/YCCK is converted without
 * colour management: Adobe files store inverted CMYK, so R = C*K/255 etc.; others store
 * ink amounts, R = (255-C)*(255-K)/255.
 */
EXPORT(dr_decode) int dr_decode(const uint8_t *data, uint32_t len, int denom, uint32_t flags) {
  struct jpeg_decompress_struct cinfo;
  struct dr_error_mgr err;
  reset_state();
  init(&cinfo, &err);
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    free_decode_buffers();
    return state.status;
  }
  if (denom != 1 && denom != 2 && denom != 4 && denom != 8) {
    state.status = DR_BAD_ARGUMENT;
    snprintf(state.message, DR_MSG_LEN, "scale denominator must be 1, 2, 4 or 8, not %d", denom);
    return DR_BAD_ARGUMENT;
  }
  if (data == NULL || len == 0) ERREXIT(&cinfo, JERR_INPUT_EMPTY);
  read_header(&cinfo, data, len);

  const int cmyk = choose_out_color_space(&cinfo, JCS_EXT_RGBA);
  cinfo.scale_num = 1;
  cinfo.scale_denom = (unsigned)denom;
  cinfo.dct_method = (flags & DR_FLAG_FAST_DCT) ? JDCT_IFAST : JDCT_ISLOW;
  cinfo.do_fancy_upsampling = (flags & DR_FLAG_NO_FANCY_UPSAMPLE) ? FALSE : TRUE;
  jpeg_calc_output_dimensions(&cinfo);

  const uint32_t ow = cinfo.output_width, oh = cinfo.output_height;
  check_output_size(&cinfo, ow, oh);
  out_buf = malloc((size_t)ow * oh * 4u);
  if (!out_buf) ERREXIT1(&cinfo, JERR_OUT_OF_MEMORY, 100);
  if (cmyk) {
    row_buf = malloc((size_t)ow * 4u);
    if (!row_buf) ERREXIT1(&cinfo, JERR_OUT_OF_MEMORY, 101);
  }

  jpeg_start_decompress(&cinfo);
  const size_t stride = (size_t)ow * 4u;
  if (!cmyk) {
    JSAMPROW rows[16];
    while (cinfo.output_scanline < oh) {
      int n = cinfo.rec_outbuf_height < 16 ? cinfo.rec_outbuf_height : 16;
      for (int i = 0; i < n; i++) {
        uint32_t y = cinfo.output_scanline + (uint32_t)i;
        rows[i] = out_buf + (size_t)(y < oh ? y : oh - 1) * stride;
      }
      jpeg_read_scanlines(&cinfo, rows, (JDIMENSION)n);
    }
  } else {
    const int inverted = cinfo.saw_Adobe_marker;
    while (cinfo.output_scanline < oh) {
      uint8_t *dst = out_buf + (size_t)cinfo.output_scanline * stride;
      JSAMPROW row = row_buf;
      jpeg_read_scanlines(&cinfo, &row, 1);
      cmyk_row_to_rgb(row_buf, dst, ow, inverted, 4);
    }
  }
  finishing = 1;
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  free(row_buf);
  row_buf = NULL;

  state.out_width = (int32_t)ow;
  state.out_height = (int32_t)oh;
  state.pixels = (int32_t)(uintptr_t)out_buf;
  out_buf = NULL;
  return DR_OK;
}

/* ---- dr_decode_fit: DCT scaling by n/8 + a streaming area-average resize ----------------
 *
 * Decodes straight to an out_w x out_h RGBA image (out_w <= width, out_h <= height):
 * libjpeg scales by the smallest n/8 (n = 1..8) that still covers the output on both axes
 * (its reduced-size IDCTs make a 3/8 decode of a 4000 px photo ~1500 px and cheap), and
 * each decoded row is then resampled horizontally and accumulated into at most two output
 * rows: the exact area average the JS `downscale` computes, without ever holding the
 * decoded image (memory: the output, a few rows, libjpeg's own buffers). JPEG has no alpha,
 * so there is nothing to premultiply. Same result conventions as dr_decode.
 */

struct taps {
  int32_t *start;
  int32_t *count;
  float *weights;
  int max_taps;
};

static struct taps htaps, vtaps;
static float *hrow;    /* one source row resampled horizontally: out_w * 3 floats */
static float *acc[2];  /* accumulators for the (at most two) output rows a source row feeds */

static void free_fit_scratch(void) {
  free(htaps.start); free(htaps.count); free(htaps.weights);
  free(vtaps.start); free(vtaps.count); free(vtaps.weights);
  free(hrow); free(acc[0]); free(acc[1]);
  memset(&htaps, 0, sizeof htaps);
  memset(&vtaps, 0, sizeof vtaps);
  hrow = acc[0] = acc[1] = NULL;
}

static void free_decode_buffers(void) {
  free(out_buf);
  free(row_buf);
  out_buf = row_buf = NULL;
  free_fit_scratch();
  state.pixels = 0;
}

/* The same arithmetic as `taps()` in workers/processor/src/image/resize.ts (doubles there). */
static int make_taps(struct taps *t, uint32_t src, uint32_t dst) {
  const double ratio = (double)src / (double)dst;
  t->max_taps = (int)ceil(ratio) + 1;
  t->start = malloc(dst * sizeof *t->start);
  t->count = malloc(dst * sizeof *t->count);
  t->weights = calloc((size_t)dst * (size_t)t->max_taps, sizeof *t->weights);
  if (!t->start || !t->count || !t->weights) return 0;
  for (uint32_t i = 0; i < dst; i++) {
    const double a = i * ratio, b = a + ratio;
    const int32_t first = (int32_t)floor(a);
    int32_t last = (int32_t)ceil(b) - 1;
    if (last > (int32_t)src - 1) last = (int32_t)src - 1;
    t->start[i] = first;
    t->count[i] = last - first + 1;
    for (int32_t s = first; s <= last; s++) {
      const double lo = a > s ? a : s, hi = b < s + 1 ? b : s + 1;
      t->weights[(size_t)i * t->max_taps + (size_t)(s - first)] = (float)((hi - lo) / ratio);
    }
  }
  return 1;
}

static inline uint8_t to_u8(float v) {
  if (!(v > 0.0f)) return 0;
  if (v >= 255.0f) return 255;
  return (uint8_t)(v + 0.5f);
}

/* Horizontal pass of one RGB (3 bytes/px) source row into hrow. */
static void resample_row(const uint8_t *src, uint32_t out_w) {
  const int mt = htaps.max_taps;
  for (uint32_t x = 0; x < out_w; x++) {
    const uint8_t *p = src + (size_t)htaps.start[x] * 3u;
    const float *w = htaps.weights + (size_t)x * mt;
    const int n = htaps.count[x];
    float r = 0, g = 0, b = 0;
    for (int k = 0; k < n; k++, p += 3) {
      r += p[0] * w[k];
      g += p[1] * w[k];
      b += p[2] * w[k];
    }
    hrow[x * 3] = r;
    hrow[x * 3 + 1] = g;
    hrow[x * 3 + 2] = b;
  }
}

EXPORT(dr_decode_fit)
int dr_decode_fit(const uint8_t *data, uint32_t len, uint32_t out_w, uint32_t out_h,
                  uint32_t flags) {
  struct jpeg_decompress_struct cinfo;
  struct dr_error_mgr err;
  reset_state();
  init(&cinfo, &err);
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    free_decode_buffers();
    return state.status;
  }
  if (data == NULL || len == 0) ERREXIT(&cinfo, JERR_INPUT_EMPTY);
  read_header(&cinfo, data, len);
  const uint32_t w = cinfo.image_width, h = cinfo.image_height;
  if (out_w == 0 || out_h == 0 || out_w > w || out_h > h) {
    state.status = DR_BAD_ARGUMENT;
    snprintf(state.message, DR_MSG_LEN, "cannot fit %ux%u into %ux%u (downscaling only)", w, h,
             out_w, out_h);
    longjmp(err.jump, 1);
  }

  const int cmyk = choose_out_color_space(&cinfo, JCS_RGB);
  /* Smallest n/8 whose scaled size (libjpeg rounds up) covers the output on both axes. */
  unsigned num = 8;
  for (unsigned n = 1; n <= 8; n++) {
    if ((uint64_t)w * n / 8 + ((uint64_t)w * n % 8 != 0) >= out_w &&
        (uint64_t)h * n / 8 + ((uint64_t)h * n % 8 != 0) >= out_h) {
      num = n;
      break;
    }
  }
  cinfo.scale_num = num;
  cinfo.scale_denom = 8;
  cinfo.dct_method = (flags & DR_FLAG_FAST_DCT) ? JDCT_IFAST : JDCT_ISLOW;
  cinfo.do_fancy_upsampling = (flags & DR_FLAG_NO_FANCY_UPSAMPLE) ? FALSE : TRUE;
  jpeg_calc_output_dimensions(&cinfo);
  const uint32_t sw = cinfo.output_width, sh = cinfo.output_height;
  if (sw < out_w || sh < out_h) ERREXIT(&cinfo, JERR_BAD_DCTSIZE); /* cannot happen */

  check_output_size(&cinfo, out_w, out_h);
  out_buf = malloc((size_t)out_w * out_h * 4u);
  const int comps = cmyk ? 4 : 3;
  const int group = cinfo.rec_outbuf_height < 1 ? 1 : (cinfo.rec_outbuf_height > 16 ? 16 : cinfo.rec_outbuf_height);
  row_buf = malloc((size_t)sw * comps * group);
  if (!out_buf || !row_buf) ERREXIT1(&cinfo, JERR_OUT_OF_MEMORY, 102);
  if (!make_taps(&htaps, sw, out_w) || !make_taps(&vtaps, sh, out_h)) ERREXIT1(&cinfo, JERR_OUT_OF_MEMORY, 103);
  hrow = malloc((size_t)out_w * 3 * sizeof *hrow);
  acc[0] = calloc((size_t)out_w * 3, sizeof(float));
  acc[1] = calloc((size_t)out_w * 3, sizeof(float));
  if (!hrow || !acc[0] || !acc[1]) ERREXIT1(&cinfo, JERR_OUT_OF_MEMORY, 104);

  jpeg_start_decompress(&cinfo);
  const int inverted = cinfo.saw_Adobe_marker;
  const size_t src_stride = (size_t)sw * comps;
  uint32_t next_out = 0; /* first output row not yet written */
  while (cinfo.output_scanline < sh) {
    JSAMPROW rows[16];
    for (int i = 0; i < group; i++) rows[i] = row_buf + (size_t)i * src_stride;
    const uint32_t y0 = cinfo.output_scanline;
    const uint32_t got = jpeg_read_scanlines(&cinfo, rows, (JDIMENSION)group);
    for (uint32_t r = 0; r < got; r++) {
      const uint32_t y = y0 + r;
      uint8_t *src = rows[r];
      if (cmyk) cmyk_row_to_rgb(src, src, sw, inverted, 3); /* in place */
      resample_row(src, out_w);
      /* Output rows fed by source row y: from next_out while their span starts at or before y. */
      for (uint32_t o = next_out; o < out_h && (uint32_t)vtaps.start[o] <= y; o++) {
        const int32_t k = (int32_t)y - vtaps.start[o];
        if (k >= vtaps.count[o]) continue;
        float *a = acc[o & 1];
        const float wgt = vtaps.weights[(size_t)o * vtaps.max_taps + (size_t)k];
        for (uint32_t i = 0; i < out_w * 3; i++) a[i] += hrow[i] * wgt;
        if (k == vtaps.count[o] - 1) { /* row o is complete */
          uint8_t *dst = out_buf + (size_t)o * out_w * 4;
          for (uint32_t x = 0; x < out_w; x++) {
            dst[x * 4] = to_u8(a[x * 3]);
            dst[x * 4 + 1] = to_u8(a[x * 3 + 1]);
            dst[x * 4 + 2] = to_u8(a[x * 3 + 2]);
            dst[x * 4 + 3] = 255;
          }
          memset(a, 0, (size_t)out_w * 3 * sizeof(float));
          next_out = o + 1;
        }
      }
    }
  }
  finishing = 1;
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  free(row_buf);
  row_buf = NULL;
  free_fit_scratch();

  state.out_width = (int32_t)out_w;
  state.out_height = (int32_t)out_h;
  state.scale_num = (int32_t)num;
  state.pixels = (int32_t)(uintptr_t)out_buf;
  out_buf = NULL;
  return DR_OK;
}
