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
  DR_BAD_ARGUMENT = 4, /* e.g. scale denominator not in 1,2,4,8 */
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
  int32_t reserved;
  char message[DR_MSG_LEN]; /* NUL-terminated text of the error, or the first warning */
};

static struct dr_state state;
static size_t memory_limit; /* bytes; 0 = unlimited (bounded by the module's MAXIMUM_MEMORY) */

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

static void reset_state(void) {
  memset(&state, 0, sizeof state);
  state.first_warning = -1;
  state.msg_code = -1;
  out_buf = NULL;
  row_buf = NULL;
  finishing = 0;
}

static void init(struct jpeg_decompress_struct *cinfo, struct dr_error_mgr *err) {
  cinfo->err = jpeg_std_error(&err->pub);
  err->pub.error_exit = on_error_exit;
  err->pub.emit_message = on_emit_message;
  err->pub.output_message = on_output_message;
}

static void read_header(struct jpeg_decompress_struct *cinfo, const uint8_t *data, uint32_t len) {
  jpeg_create_decompress(cinfo);
  if (memory_limit) cinfo->mem->max_memory_to_use = (long)memory_limit;
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
    free(out_buf);
    free(row_buf);
    out_buf = row_buf = NULL;
    state.pixels = 0;
    return state.status;
  }
  if (denom != 1 && denom != 2 && denom != 4 && denom != 8) {
    state.status = DR_BAD_ARGUMENT;
    snprintf(state.message, DR_MSG_LEN, "scale denominator must be 1, 2, 4 or 8, not %d", denom);
    return DR_BAD_ARGUMENT;
  }
  if (data == NULL || len == 0) ERREXIT(&cinfo, JERR_INPUT_EMPTY);
  read_header(&cinfo, data, len);

  int cmyk = 0;
  switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
    case JCS_RGB:
    case JCS_YCbCr:
      cinfo.out_color_space = JCS_EXT_RGBA;
      break;
    case JCS_CMYK:
    case JCS_YCCK:
      cinfo.out_color_space = JCS_CMYK; /* libjpeg does YCCK -> CMYK */
      cmyk = 1;
      break;
    default:
      ERREXIT(&cinfo, JERR_CONVERSION_NOTIMPL);
  }
  cinfo.scale_num = 1;
  cinfo.scale_denom = (unsigned)denom;
  cinfo.dct_method = (flags & DR_FLAG_FAST_DCT) ? JDCT_IFAST : JDCT_ISLOW;
  cinfo.do_fancy_upsampling = (flags & DR_FLAG_NO_FANCY_UPSAMPLE) ? FALSE : TRUE;
  jpeg_calc_output_dimensions(&cinfo);

  const uint32_t ow = cinfo.output_width, oh = cinfo.output_height;
  const uint64_t bytes = (uint64_t)ow * oh * 4u;
  if (bytes > 0x7fffffffu || (memory_limit && bytes > memory_limit)) {
    state.status = DR_TOO_LARGE;
    state.msg_code = JERR_OUT_OF_MEMORY;
    snprintf(state.message, DR_MSG_LEN, "output %ux%u (%llu bytes) exceeds the memory limit",
             ow, oh, (unsigned long long)bytes);
    longjmp(err.jump, 1);
  }
  out_buf = malloc((size_t)bytes);
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
      const uint8_t *src = row_buf;
      for (uint32_t x = 0; x < ow; x++, src += 4, dst += 4) {
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
        dst[3] = 255;
      }
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
