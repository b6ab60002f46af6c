// AV1 still-image decoding for AVIF: dav1d decodes one coded image (a whole picture or one
// grid tile) at a time; the planes go into a "band" (a horizontal strip of the output
// image, one tile row high), and rows of the band are converted to 8-bit RGBA on demand.
// The HEIF container (boxes, grid layout, transforms, colour boxes) is parsed in
// TypeScript (src/codecs/heif/); this file never sees it. The shape is hevc.wasm's
// (wasm/hevc/decode.c): same band slots, same colour rule, same state slots idea.
//
// Band slots: 0 colour, 1 alpha (an auxiliary monochrome image of the same size); an
// overlay (iovl) uses two per layer (2i colour, 2i + 1 alpha), up to MAX_SLOTS / 2 layers
// (HEIF_LIMITS.maxOverlayLayers in the TypeScript), as hevc.wasm does.
// A band either owns a copy of decoded tiles (grids) or adopts the decoded picture in
// place (single-image files: no copy).

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <dav1d/dav1d.h>

#define EXPORT(name) __attribute__((export_name(#name), used))
#include "resize.h"

enum {
  AV_OK = 0,
  AV_CORRUPT = 1,
  AV_UNSUPPORTED = 2,
  AV_TOO_LARGE = 3,
  AV_BAD_ARGUMENT = 4,
  AV_NO_SEQUENCE_HEADER = 5,
};

// ---- state shared with JS (int32 slots) -------------------------------------------------
enum {
  S_STATUS = 0,
  S_WIDTH,        // decoded picture / sequence header max_frame_width
  S_HEIGHT,       // decoded picture / sequence header max_frame_height
  S_LAYOUT,       // 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4
  S_DEPTH,        // 8, 10 or 12
  S_DAV1D_ERROR,  // dav1d's negative errno
  S_MATRIX,       // sequence header CICP
  S_FULL_RANGE,
  S_PRIMARIES,
  S_TRANSFER,
  S_WINDOWED,     // the picture was decoded through the row window (av_decode_rows)
  S_COUNT
};
static int32_t state[S_COUNT];

EXPORT(av_state) int32_t* av_state(void) { return state; }

static int from_dav1d(int err) {
  state[S_DAV1D_ERROR] = err;
  return err == DAV1D_ERR(ENOMEM) ? AV_TOO_LARGE : AV_CORRUPT;
}

/**
 * Reads the (last) sequence header OBU in `data` without decoding anything: its maximum
 * frame size, layout, depth and colour description go to the state slots. The caller
 * compares the size with the container's before any picture is allocated.
 */
EXPORT(av_sequence) int av_sequence(const uint8_t* data, int len) {
  memset(state, 0, sizeof state);
  if (len <= 0) return state[S_STATUS] = AV_BAD_ARGUMENT;
  Dav1dSequenceHeader seq;
  int r = dav1d_parse_sequence_header(&seq, data, (size_t)len);
  if (r == DAV1D_ERR(ENOENT)) return state[S_STATUS] = AV_NO_SEQUENCE_HEADER;
  if (r < 0) return state[S_STATUS] = from_dav1d(r);
  state[S_WIDTH] = seq.max_width;
  state[S_HEIGHT] = seq.max_height;
  state[S_LAYOUT] = seq.layout;
  state[S_DEPTH] = seq.hbd == 0 ? 8 : seq.hbd == 1 ? 10 : 12;
  state[S_MATRIX] = seq.mtrx;
  state[S_FULL_RANGE] = seq.color_range;
  state[S_PRIMARIES] = seq.pri;
  state[S_TRANSFER] = seq.trc;
  return state[S_STATUS] = AV_OK;
}

// ---- picture memory: the whole frame, or a window of rows -----------------------------------
// libdav1d (patched by build.sh, dav1d-row-window.patch): with dav1d_row_window set by the
// allocator, the frame is decoded through a window of that many rows, handed out as they
// become final.
extern int dav1d_row_window;
extern void (*dav1d_row_window_out)(uint8_t* const data[3], const ptrdiff_t stride[2], int y0,
                                    int y1);
/** Rows a window holds: a 128-row superblock row, the filters' margin above it (64), slack. */
#define WINDOW_ROWS 256

static int alloc_expect_w, alloc_expect_h;  // the size the container promised
static int alloc_stream;                    // this decode's rows go out as they are made
static int alloc_windowed;                  // the picture is a window (rows already out)
static int alloc_layout, alloc_depth, alloc_full_range;

/**
 * dav1d's picture allocator, as its default one (each axis padded to 128, a stride that
 * is a multiple of 1024 bytes padded by 64), but refusing a frame of any other size than
 * the container's or of an unsupported depth before its memory exists, and giving a
 * streamed key frame without intra block copy or super-resolution only WINDOW_ROWS rows.
 */
static int pic_alloc(Dav1dPicture* p, void* cookie) {
  (void)cookie;
  if (p->p.w != alloc_expect_w || p->p.h != alloc_expect_h) return DAV1D_ERR(EINVAL);
  if (p->p.bpc != 8 && p->p.bpc != 10 && p->p.bpc != 12) return DAV1D_ERR(ENOTSUP);
  const int hbd = p->p.bpc > 8;
  const int has_chroma = p->p.layout != DAV1D_PIXEL_LAYOUT_I400;
  const int ss_ver = p->p.layout == DAV1D_PIXEL_LAYOUT_I420;
  const int ss_hor = p->p.layout != DAV1D_PIXEL_LAYOUT_I444;
  const int aw = (p->p.w + 127) & ~127;
  const int ah = (p->p.h + 127) & ~127;
  const Dav1dFrameHeader* fh = p->frame_hdr;
  const int window = alloc_stream && ah > WINDOW_ROWS && fh &&
                     fh->frame_type == DAV1D_FRAME_TYPE_KEY && !fh->allow_intrabc &&
                     !fh->super_res.enabled && fh->width[0] == fh->width[1];
  const int rows = window ? WINDOW_ROWS : ah;
  ptrdiff_t ys = (ptrdiff_t)aw << hbd;
  ptrdiff_t uvs = has_chroma ? ys >> ss_hor : 0;
  if (!(ys & 1023)) ys += DAV1D_PICTURE_ALIGNMENT;
  if (has_chroma && !(uvs & 1023)) uvs += DAV1D_PICTURE_ALIGNMENT;
  const size_t ysz = (size_t)ys * rows;
  const size_t uvsz = (size_t)uvs * (rows >> ss_ver);
  uint8_t* buf = aligned_alloc(DAV1D_PICTURE_ALIGNMENT,
                               (ysz + 2 * uvsz + 2 * DAV1D_PICTURE_ALIGNMENT) &
                                   ~(size_t)(DAV1D_PICTURE_ALIGNMENT - 1));
  if (!buf) return DAV1D_ERR(ENOMEM);
  p->data[0] = buf;
  p->data[1] = has_chroma ? buf + ysz : NULL;
  p->data[2] = has_chroma ? buf + ysz + uvsz : NULL;
  p->stride[0] = ys;
  p->stride[1] = uvs;
  p->allocator_data = buf;
  alloc_windowed = window;
  alloc_layout = p->p.layout;
  alloc_depth = p->p.bpc;
  alloc_full_range = p->seq_hdr->color_range;
  dav1d_row_window = window ? rows : 0;
  return 0;
}

static void pic_release(Dav1dPicture* p, void* cookie) {
  (void)cookie;
  free(p->allocator_data);
}

// ---- the decoded picture ------------------------------------------------------------------
static Dav1dPicture pic;
static int have_pic = 0;

static void release_picture(void) {
  if (have_pic) dav1d_picture_unref(&pic);
  have_pic = 0;
}

static void no_free(const uint8_t* buf, void* cookie) {
  (void)buf;
  (void)cookie;
}

/**
 * Decodes one coded image (the item's OBUs: sequence header + frame). It must come out
 * `expect_w` x `expect_h`; dav1d is told so before it parses a frame header
 * (frame_size_limit), so a bitstream larger than the container said is refused before its
 * frame is allocated. Film grain is not applied (a second frame-sized picture, for noise
 * the preview averages away). The picture stays until the next av_decode or av_band_put.
 */
static int decode(const uint8_t* data, int len, int expect_w, int expect_h, int stream);
static void stream_out(uint8_t* const data[3], const ptrdiff_t stride[2], int y0, int y1);
static int stream_status;

EXPORT(av_decode) int av_decode(const uint8_t* data, int len, int expect_w, int expect_h) {
  return decode(data, len, expect_w, expect_h, 0);
}

static int decode(const uint8_t* data, int len, int expect_w, int expect_h, int stream) {
  release_picture();
  memset(state, 0, sizeof state);
  if (len <= 0 || expect_w < 1 || expect_h < 1) return state[S_STATUS] = AV_BAD_ARGUMENT;
  alloc_expect_w = expect_w;
  alloc_expect_h = expect_h;
  alloc_stream = stream;
  alloc_windowed = 0;
  dav1d_row_window = 0;
  Dav1dSettings s;
  dav1d_default_settings(&s);
  s.allocator.cookie = NULL;
  s.allocator.alloc_picture_callback = pic_alloc;
  s.allocator.release_picture_callback = pic_release;
  s.n_threads = 1;
  s.max_frame_delay = 1;
  s.apply_grain = 0;
  s.all_layers = 0;
  s.frame_size_limit = (unsigned)expect_w * (unsigned)expect_h;
  Dav1dContext* c = NULL;
  int r = dav1d_open(&c, &s);
  if (r < 0) return state[S_STATUS] = from_dav1d(r);
  Dav1dData d;
  memset(&d, 0, sizeof d);
  r = dav1d_data_wrap(&d, data, (size_t)len, no_free, NULL);
  int st = AV_OK;
  if (r < 0) st = from_dav1d(r);
  while (st == AV_OK && !have_pic) {
    if (d.sz > 0) {
      r = dav1d_send_data(c, &d);
      if (r < 0 && r != DAV1D_ERR(EAGAIN)) {
        st = from_dav1d(r);
        break;
      }
    }
    r = dav1d_get_picture(c, &pic);
    if (r == 0) {
      have_pic = 1;
    } else if (r != DAV1D_ERR(EAGAIN)) {
      st = from_dav1d(r);
    } else if (d.sz == 0) {
      st = AV_CORRUPT;  // all data in, no picture out
    }
  }
  if (d.sz > 0) dav1d_data_unref(&d);
  // The picture holds its own reference to its buffer: the context can go now.
  dav1d_close(&c);
  if (st != AV_OK) {
    release_picture();
    return state[S_STATUS] = st;
  }
  state[S_WIDTH] = pic.p.w;
  state[S_HEIGHT] = pic.p.h;
  state[S_LAYOUT] = pic.p.layout;
  state[S_DEPTH] = pic.p.bpc;
  state[S_MATRIX] = pic.seq_hdr->mtrx;
  state[S_FULL_RANGE] = pic.seq_hdr->color_range;
  state[S_PRIMARIES] = pic.seq_hdr->pri;
  state[S_TRANSFER] = pic.seq_hdr->trc;
  if (pic.p.w != expect_w || pic.p.h != expect_h) {
    release_picture();
    return state[S_STATUS] = AV_CORRUPT;
  }
  if (pic.p.bpc != 8 && pic.p.bpc != 10 && pic.p.bpc != 12) {
    release_picture();
    return state[S_STATUS] = AV_UNSUPPORTED;
  }
  if (stream) {
    // A picture decoded whole (no window: intra block copy, super-resolution) goes out
    // now, as a window's rows went out during the decode.
    if (!alloc_windowed) stream_out((uint8_t* const*)pic.data, pic.stride, 0, pic.p.h);
    state[S_WINDOWED] = alloc_windowed;
    release_picture();
    if (stream_status != AV_OK) return state[S_STATUS] = stream_status;
  }
  return state[S_STATUS] = AV_OK;
}

// ---- bands --------------------------------------------------------------------------------
typedef struct {
  int used;
  int width, height;  // band size in pixels (luma)
  int y0;             // first image row the band holds
  int layout;         // Dav1dPixelLayout
  int depth;          // bits per sample (8 → 1 byte, more → 2 bytes)
  int full_range;     // of this image (alpha: limited range is stretched)
  int sx, sy;         // chroma subsampling shifts
  uint8_t* plane[3];
  int stride[3];      // bytes per row
  int owned;          // 1: planes malloc'd here; 0: adopted from the decoder
  Dav1dPicture adopted;
} Band;

#define MAX_SLOTS 32
static Band bands[MAX_SLOTS];
#define VALID_SLOT(s) ((s) >= 0 && (s) < MAX_SLOTS)

static void band_free(Band* b) {
  if (b->owned) {
    for (int c = 0; c < 3; c++) free(b->plane[c]);
  } else if (b->used) {
    dav1d_picture_unref(&b->adopted);
  }
  memset(b, 0, sizeof *b);
}

EXPORT(av_band_free) void av_band_free(int slot) {
  if (VALID_SLOT(slot)) band_free(&bands[slot]);
}

static void set_shifts(Band* b) {
  b->sx = (b->layout == DAV1D_PIXEL_LAYOUT_I420 || b->layout == DAV1D_PIXEL_LAYOUT_I422) ? 1 : 0;
  b->sy = b->layout == DAV1D_PIXEL_LAYOUT_I420 ? 1 : 0;
}

/** A band of `width` x `height` starting at image row `y0`, for tiles of this format. */
EXPORT(av_band_new)
int av_band_new(int slot, int width, int height, int y0, int layout, int depth, int full_range) {
  if (!VALID_SLOT(slot)) return AV_BAD_ARGUMENT;
  if (width < 1 || height < 1 || layout < 0 || layout > 3 || depth < 8 || depth > 12) {
    return AV_BAD_ARGUMENT;
  }
  Band* b = &bands[slot];
  band_free(b);
  b->used = 1;
  b->width = width;
  b->height = height;
  b->y0 = y0;
  b->layout = layout;
  b->depth = depth;
  b->full_range = full_range ? 1 : 0;
  b->owned = 1;
  set_shifts(b);
  int bps = depth > 8 ? 2 : 1;
  int planes = layout == DAV1D_PIXEL_LAYOUT_I400 ? 1 : 3;
  for (int c = 0; c < planes; c++) {
    int w = c ? (width + (1 << b->sx) - 1) >> b->sx : width;
    int h = c ? (height + (1 << b->sy) - 1) >> b->sy : height;
    b->stride[c] = w * bps;
    b->plane[c] = calloc((size_t)h, (size_t)b->stride[c]);
    if (!b->plane[c]) {
      band_free(b);
      return AV_TOO_LARGE;
    }
  }
  return AV_OK;
}

/**
 * Copies the decoded picture into the band with its top-left corner at band pixel (x0, y0),
 * clipped to the band (grid tiles at the right and bottom edges overhang the image), then
 * frees the picture.
 */
EXPORT(av_band_put) int av_band_put(int slot, int x0, int y0) {
  if (!VALID_SLOT(slot) || !have_pic) return AV_BAD_ARGUMENT;
  Band* b = &bands[slot];
  if (!b->used || !b->owned) return AV_BAD_ARGUMENT;
  if ((int)pic.p.layout != b->layout || pic.p.bpc != b->depth ||
      pic.seq_hdr->color_range != b->full_range) {
    release_picture();
    return AV_CORRUPT;  // grid tiles must share one format
  }
  if (x0 < 0 || y0 < 0 || x0 >= b->width || y0 >= b->height) {
    release_picture();
    return AV_BAD_ARGUMENT;
  }
  int bps = b->depth > 8 ? 2 : 1;
  int planes = b->layout == DAV1D_PIXEL_LAYOUT_I400 ? 1 : 3;
  for (int c = 0; c < planes; c++) {
    int sx = c ? b->sx : 0, sy = c ? b->sy : 0;
    const uint8_t* src = pic.data[c];
    ptrdiff_t stride = pic.stride[c ? 1 : 0];
    int pw = (pic.p.w + (1 << sx) - 1) >> sx, ph = (pic.p.h + (1 << sy) - 1) >> sy;
    int bx = x0 >> sx, by = y0 >> sy;
    int bw = (b->width + (1 << sx) - 1) >> sx, bh = (b->height + (1 << sy) - 1) >> sy;
    int w = pw < bw - bx ? pw : bw - bx;
    int h = ph < bh - by ? ph : bh - by;
    for (int y = 0; y < h; y++) {
      memcpy(b->plane[c] + (size_t)(by + y) * b->stride[c] + (size_t)bx * bps,
             src + (ptrdiff_t)y * stride, (size_t)w * bps);
    }
  }
  release_picture();
  return AV_OK;
}

/** Makes the decoded picture itself the band (the whole image): no copy. */
EXPORT(av_band_adopt) int av_band_adopt(int slot) {
  if (!VALID_SLOT(slot) || !have_pic) return AV_BAD_ARGUMENT;
  Band* b = &bands[slot];
  band_free(b);
  b->used = 1;
  b->width = pic.p.w;
  b->height = pic.p.h;
  b->y0 = 0;
  b->layout = pic.p.layout;
  b->depth = pic.p.bpc;
  b->full_range = pic.seq_hdr->color_range;
  b->owned = 0;
  set_shifts(b);
  int planes = b->layout == DAV1D_PIXEL_LAYOUT_I400 ? 1 : 3;
  for (int c = 0; c < planes; c++) {
    b->plane[c] = pic.data[c];
    b->stride[c] = (int)pic.stride[c ? 1 : 0];
  }
  b->adopted = pic;  // the reference moves to the band
  have_pic = 0;
  memset(&pic, 0, sizeof pic);
  return AV_OK;
}

// ---- colour --------------------------------------------------------------------------------
// The rule of wasm/hevc/decode.c, kept identical: YCbCr → R'G'B' (matrix and range from
// the colr nclx box, else the sequence header), then optionally a gamut conversion in
// linear light (Display P3 / BT.2020 primaries → sRGB primaries) with the sRGB transfer
// curve on both sides.
static float kr = 0.299f, kb = 0.114f;
static int identity_matrix = 0;  // matrix_coefficients 0: GBR
static int full_range = 1;
static int gamut = 0;
static float gm[9];
#define LUT_BITS 12
#define LUT_SIZE (1 << LUT_BITS)
static float to_linear[LUT_SIZE + 1];
static uint8_t to_srgb8[LUT_SIZE + 1];

// Integer tables of the matrix for one bit depth (built on first use): each sample
// value's contribution to R', G', B' in units of 2^-20 of full scale, so a pixel is five
// lookups and three adds (what the float rule computes, to 2^-20).
#define FIX 20
#define FIX_ONE (1 << FIX)
static int32_t tY[1 << 12], tCrR[1 << 12], tCrG[1 << 12], tCbG[1 << 12], tCbB[1 << 12];
static int tab_depth = 0;

static float srgb_decode(float v) {
  return v <= 0.04045f ? v / 12.92f : powf((v + 0.055f) / 1.055f, 2.4f);
}
static float srgb_encode(float v) {
  return v <= 0.0031308f ? v * 12.92f : 1.055f * powf(v, 1.0f / 2.4f) - 0.055f;
}

/**
 * matrix: H.273 matrix_coefficients; full: full_range_flag; g: a row-major 3x3 matrix from
 * the source primaries to sRGB's in linear light, or NULL for none.
 */
EXPORT(av_set_color) int av_set_color(int matrix, int full, const float* g) {
  identity_matrix = matrix == 0;
  switch (matrix) {
    case 1:  // BT.709
      kr = 0.2126f;
      kb = 0.0722f;
      break;
    case 9:  // BT.2020 non-constant
    case 10:
      kr = 0.2627f;
      kb = 0.0593f;
      break;
    case 4:  // FCC
      kr = 0.30f;
      kb = 0.11f;
      break;
    case 7:  // SMPTE 240M
      kr = 0.212f;
      kb = 0.087f;
      break;
    default:  // 5, 6 (BT.601) and anything unknown: what HEIF readers assume by default
      kr = 0.299f;
      kb = 0.114f;
  }
  full_range = full ? 1 : 0;
  tab_depth = 0;  // the integer tables follow the matrix and range
  gamut = g != NULL;
  if (gamut) {
    memcpy(gm, g, sizeof gm);
    for (int i = 0; i <= LUT_SIZE; i++) {
      float v = (float)i / LUT_SIZE;
      to_linear[i] = srgb_decode(v);
      float e = srgb_encode(v);
      to_srgb8[i] = (uint8_t)(e * 255.0f + 0.5f);
    }
  }
  return AV_OK;
}

static inline int sample(const Band* b, int c, int x, int y) {
  const uint8_t* row = b->plane[c] + (size_t)y * b->stride[c];
  return b->depth > 8 ? ((const uint16_t*)row)[x] : row[x];
}

static inline float clamp01(float v) { return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v); }

static inline uint8_t encode8(float v) {
  if (!gamut) return (uint8_t)(clamp01(v) * 255.0f + 0.5f);
  return to_srgb8[(int)(clamp01(v) * LUT_SIZE + 0.5f)];
}

static inline void put_rgb8(uint8_t* o, float R, float G, float B) {
  if (gamut) {
    float lr = to_linear[(int)(clamp01(R) * LUT_SIZE + 0.5f)];
    float lg = to_linear[(int)(clamp01(G) * LUT_SIZE + 0.5f)];
    float lb = to_linear[(int)(clamp01(B) * LUT_SIZE + 0.5f)];
    R = gm[0] * lr + gm[1] * lg + gm[2] * lb;
    G = gm[3] * lr + gm[4] * lg + gm[5] * lb;
    B = gm[6] * lr + gm[7] * lg + gm[8] * lb;
  }
  o[0] = encode8(R);
  o[1] = encode8(G);
  o[2] = encode8(B);
}

/** An alpha sample as 8-bit: limited-range alpha (rare) stretched to full, as libavif does. */
static inline uint8_t alpha8(const Band* a, int v) {
  int d = a->depth;
  if (!a->full_range) {
    int lo = 16 << (d - 8), span = 219 << (d - 8);
    float f = (float)(v - lo) / (float)span;
    return (uint8_t)(clamp01(f) * 255.0f + 0.5f);
  }
  if (d == 8) return (uint8_t)v;
  return (uint8_t)((v * 255 + ((1 << d) - 1) / 2) / ((1 << d) - 1));
}

static void build_tables(int d) {
  const float maxv = (float)((1 << d) - 1);
  const float yoff = full_range ? 0.0f : (float)(16 << (d - 8));
  const float yscale = full_range ? 1.0f / maxv : 1.0f / (float)(219 << (d - 8));
  const float coff = (float)(1 << (d - 1));
  const float cscale = full_range ? 1.0f / maxv : 1.0f / (float)(224 << (d - 8));
  const float kg = 1.0f - kr - kb;
  const float crr = 2.0f * (1.0f - kr), cbb = 2.0f * (1.0f - kb);
  const float cbg = cbb * kb / kg, crg = crr * kr / kg;
  for (int v = 0; v < (1 << d); v++) {
    float Y = ((float)v - yoff) * yscale;
    float C = ((float)v - coff) * cscale;
    tY[v] = (int32_t)lrintf(Y * FIX_ONE);
    tCrR[v] = (int32_t)lrintf(crr * C * FIX_ONE);
    tCrG[v] = (int32_t)lrintf(-crg * C * FIX_ONE);
    tCbG[v] = (int32_t)lrintf(-cbg * C * FIX_ONE);
    tCbB[v] = (int32_t)lrintf(cbb * C * FIX_ONE);
  }
  tab_depth = d;
}

static inline int32_t clamp_fix(int32_t v) { return v < 0 ? 0 : (v > FIX_ONE ? FIX_ONE : v); }

/**
 * A fixed-point component (0..FIX_ONE) as sRGB8, through the gamut step when there is one.
 * (FIX_ONE * 255 + FIX_ONE / 2 < 2^31: int32 arithmetic is exact.)
 */
static inline uint32_t fix8(int32_t v) {
  return (uint32_t)((clamp_fix(v) * 255 + (FIX_ONE >> 1)) >> FIX);
}

static inline void put_fix(uint8_t* o, int32_t R, int32_t G, int32_t B) {
  if (!gamut) {
    o[0] = fix8(R);
    o[1] = fix8(G);
    o[2] = fix8(B);
    return;
  }
  const float s = 1.0f / FIX_ONE;
  put_rgb8(o, (float)clamp_fix(R) * s, (float)clamp_fix(G) * s, (float)clamp_fix(B) * s);
}

/**
 * ROWS_FIX's most common case, opaque colour without a gamut step, with the band's fields
 * in locals (a byte store may alias them, so the general loop reloads them per pixel) and
 * one 32-bit store per pixel (WASM is little-endian: R, G, B, A in memory order).
 */
#define ROWS_FIX_OPAQUE(T)                                                            \
  for (int r = 0; r < n; r++) {                                                       \
    const int by = y + r - b->y0, sx = b->sx;                                         \
    const T* py = (const T*)(b->plane[0] + (size_t)by * b->stride[0]) + x0;           \
    const T* pu = (const T*)(b->plane[1] + (size_t)(by >> b->sy) * b->stride[1]);     \
    const T* pv = (const T*)(b->plane[2] + (size_t)(by >> b->sy) * b->stride[2]);     \
    uint32_t* o = (uint32_t*)(out + (size_t)r * w * 4);                               \
    for (int i = 0; i < w; i++) {                                                     \
      const int cx = (x0 + i) >> sx;                                                  \
      const int32_t Y = tY[py[i]], cb = pu[cx], cr = pv[cx];                          \
      o[i] = fix8(Y + tCrR[cr]) | fix8(Y + tCbG[cb] + tCrG[cr]) << 8 |                \
             fix8(Y + tCbB[cb]) << 16 | 0xff000000u;                                  \
    }                                                                                 \
  }

/** The integer path of av_rows (every matrix but identity/GBR), for samples of type T. */
#define ROWS_FIX(T)                                                                   \
  for (int r = 0; r < n; r++) {                                                       \
    int by = y + r - b->y0;                                                           \
    const T* py = (const T*)(b->plane[0] + (size_t)by * b->stride[0]);                \
    const T* pu = mono ? NULL : (const T*)(b->plane[1] + (size_t)(by >> b->sy) * b->stride[1]); \
    const T* pv = mono ? NULL : (const T*)(b->plane[2] + (size_t)(by >> b->sy) * b->stride[2]); \
    uint8_t* o = out + (size_t)r * w * 4;                                             \
    for (int i = 0; i < w; i++) {                                                     \
      int x = x0 + i;                                                                 \
      int32_t Y = tY[py[x]];                                                          \
      if (mono) {                                                                     \
        put_fix(o + i * 4, Y, Y, Y);                                                  \
      } else {                                                                        \
        int cx = x >> b->sx;                                                          \
        int cb = pu[cx], cr = pv[cx];                                                 \
        put_fix(o + i * 4, Y + tCrR[cr], Y + tCbG[cb] + tCrG[cr], Y + tCbB[cb]);      \
      }                                                                               \
      o[i * 4 + 3] = a ? alpha8(a, sample(a, 0, x, y + r - a->y0)) : 255;             \
    }                                                                                 \
  }

/**
 * Converts image rows [y, y + n), columns [x0, x0 + w), to RGBA8 at `out` (w * 4 bytes per
 * row). Both bands (alpha when present) must hold those rows. Chroma is upsampled by
 * nearest sample: the rows are about to be area-averaged down to a preview anyway.
 */
static int rows_of(const Band* b, const Band* a, int y, int n, int x0, int w, uint8_t* out);

EXPORT(av_rows) int av_rows(int y, int n, int x0, int w, uint8_t* out) {
  return rows_of(&bands[0], bands[1].used ? &bands[1] : NULL, y, n, x0, w, out);
}

/** av_rows of the image in band `slot`, blended with the alpha band `alpha_slot` (or -1). */
EXPORT(av_rows_of) int av_rows_of(int slot, int alpha_slot, int y, int n, int x0, int w,
                                  uint8_t* out) {
  if (!VALID_SLOT(slot) || (alpha_slot != -1 && !VALID_SLOT(alpha_slot))) return AV_BAD_ARGUMENT;
  const Band* a = alpha_slot >= 0 ? &bands[alpha_slot] : NULL;
  if (a && !a->used) return AV_BAD_ARGUMENT;
  return rows_of(&bands[slot], a, y, n, x0, w, out);
}

static int planar(const Band* b, const Band* a, int x0, int y0);
static int push_planar(const Band* b, int y, int n, int x0);

/**
 * av_rows, then each row into the resizer (av_resize_new) instead of back to JS; an opaque
 * image without a gamut step goes as planes instead (see planar).
 */
EXPORT(av_rows_resize) int av_rows_resize(int y, int n, int x0, int w, uint8_t* buf) {
  if (!av_resize_active()) return AV_BAD_ARGUMENT;
  const Band* b = &bands[0];
  if (b->used && !bands[1].used && n >= 1 && w >= 1 && x0 >= 0 && x0 + w <= b->width &&
      y >= b->y0 && y + n <= b->y0 + b->height) {
    if (planar(b, NULL, x0, y)) return push_planar(b, y, n, x0);
  }
  int st = rows_of(&bands[0], bands[1].used ? &bands[1] : NULL, y, n, x0, w, buf);
  for (int r = 0; r < n && st == AV_OK; r++) st = av_resize_push(buf + (size_t)r * w * 4, !bands[1].used);
  return st;
}

static int rows_of(const Band* b, const Band* a, int y, int n, int x0, int w, uint8_t* out) {
  if (!b->used || n < 1 || w < 1 || x0 < 0 || x0 + w > b->width) return AV_BAD_ARGUMENT;
  if (y < b->y0 || y + n > b->y0 + b->height) return AV_BAD_ARGUMENT;
  if (a && (y < a->y0 || y + n > a->y0 + a->height || x0 + w > a->width)) return AV_BAD_ARGUMENT;
  const int mono = b->layout == DAV1D_PIXEL_LAYOUT_I400;
  if (!identity_matrix) {
    if (tab_depth != b->depth) build_tables(b->depth);
    if (!mono && !a && !gamut && ((uintptr_t)out & 3) == 0) {
      if (b->depth > 8) {
        ROWS_FIX_OPAQUE(uint16_t)
      } else {
        ROWS_FIX_OPAQUE(uint8_t)
      }
    } else if (b->depth > 8) {
      ROWS_FIX(uint16_t)
    } else {
      ROWS_FIX(uint8_t)
    }
    return AV_OK;
  }
  // GBR (matrix 0): the float rule, rare enough not to need tables.
  const int d = b->depth;
  const float maxv = (float)((1 << d) - 1);
  const float yoff = full_range ? 0.0f : (float)(16 << (d - 8));
  const float yscale = full_range ? 1.0f / maxv : 1.0f / (float)(219 << (d - 8));
  const float coff = (float)(1 << (d - 1));
  const float cscale = full_range ? 1.0f / maxv : 1.0f / (float)(224 << (d - 8));
  const float kg = 1.0f - kr - kb;
  const float crr = 2.0f * (1.0f - kr), cbb = 2.0f * (1.0f - kb);
  const float cbg = cbb * kb / kg, crg = crr * kr / kg;
  for (int r = 0; r < n; r++) {
    int by = y + r - b->y0;
    int cy = by >> b->sy;
    uint8_t* o = out + (size_t)r * w * 4;
    for (int i = 0; i < w; i++) {
      int x = x0 + i;
      float Y = ((float)sample(b, 0, x, by) - yoff) * yscale;
      float R, G, B;
      if (mono) {
        R = G = B = Y;
      } else {
        int cx = x >> b->sx;
        float Cb = ((float)sample(b, 1, cx, cy) - coff) * cscale;
        float Cr = ((float)sample(b, 2, cx, cy) - coff) * cscale;
        if (identity_matrix) {
          G = Y;
          B = Cb + 0.5f;
          R = Cr + 0.5f;
        } else {
          R = Y + crr * Cr;
          G = Y - cbg * Cb - crg * Cr;
          B = Y + cbb * Cb;
        }
      }
      put_rgb8(o + i * 4, R, G, B);
      o[i * 4 + 3] = a ? alpha8(a, sample(a, 0, x, y + r - a->y0)) : 255;
    }
  }
  return AV_OK;
}


// ---- the planar path: an opaque image resized as Y, Cb, Cr (resize.c) ---------------------
/**
 * Whether band b's rows (with alpha band a) can go to the resizer as planes: it is set up
 * and allows it, and the colour rule is the integer one with nothing per pixel but the
 * matrix (no alpha, no gamut step, not GBR, not monochrome). Starts the path if so.
 */
static int planar(const Band* b, const Band* a, int x0, int y0) {
  if (a || gamut || identity_matrix || b->layout == DAV1D_PIXEL_LAYOUT_I400) return 0;
  if (!av_resize_planar_allowed()) return 0;
  // build_tables' constants, in double: the same rule applied to averaged samples.
  const int d = b->depth;
  const double maxv = (double)((1 << d) - 1);
  const double kg = 1.0 - (double)kr - (double)kb;
  const double crr = 2.0 * (1.0 - (double)kr), cbb = 2.0 * (1.0 - (double)kb);
  const double k[8] = {
      full_range ? 0.0 : (double)(16 << (d - 8)),
      full_range ? 1.0 / maxv : 1.0 / (double)(219 << (d - 8)),
      (double)(1 << (d - 1)),
      full_range ? 1.0 / maxv : 1.0 / (double)(224 << (d - 8)),
      crr,
      cbb * (double)kb / kg,
      crr * (double)kr / kg,
      cbb,
  };
  return av_resize_yuv_begin(b->sx, b->sy, x0, y0, d > 8, k) == AV_OK;
}

/** Rows [y, y + n) of band b, columns from x0, into the resizer as planes. */
static int push_planar(const Band* b, int y, int n, int x0) {
  const int hbd = b->depth > 8;
  for (int r = 0; r < n; r++) {
    const int by = y + r - b->y0, cy = by >> b->sy;
    const uint8_t* py = b->plane[0] + (size_t)by * b->stride[0] + ((size_t)x0 << hbd);
    const uint8_t* pu = b->plane[1] + (size_t)cy * b->stride[1];
    const uint8_t* pv = b->plane[2] + (size_t)cy * b->stride[2];
    int st = av_resize_yuv_row(y + r, py, pu, pv);
    if (st != AV_OK) return st;
  }
  return AV_OK;
}

// ---- streaming: a single coded image straight to RGBA rows ----------------------------------
// The colour image of a non-grid AVIF is decoded through a window of rows (see pic_alloc):
// its rows are converted to RGBA as they become final, 16 at a time, and handed to the
// JS import av_out, which pushes them into the row resizer. The whole frame never exists.
// The alpha image (when present) is in band slot 1 already; av_set_color was called.

/** JS: rows [y, y + n) of the output columns as RGBA8 at `rgba` (valid during the call). */
__attribute__((import_module("env"), import_name("av_out"))) void av_out(int y, int n,
                                                                        uint8_t* rgba);

#define STREAM_ROWS 16
static int stream_x0, stream_w, stream_y0, stream_y1;
static uint8_t* stream_buf;

static void stream_out(uint8_t* const data[3], const ptrdiff_t stride[2], int y0, int y1) {
  if (stream_status != AV_OK) return;
  // A view of the rows [y0, y1) where they are (the window's pointers are shifted so
  // that row y sits at data + y * stride): rows_of's band, starting at row 0.
  Band v;
  memset(&v, 0, sizeof v);
  v.used = 1;
  v.width = alloc_expect_w;
  v.height = y1;
  v.layout = alloc_layout;
  v.depth = alloc_depth;
  v.full_range = alloc_full_range;
  set_shifts(&v);
  for (int c = 0; c < 3; c++) {
    v.plane[c] = data[c];
    v.stride[c] = (int)stride[c ? 1 : 0];
  }
  int from = y0 > stream_y0 ? y0 : stream_y0;
  int to = y1 < stream_y1 ? y1 : stream_y1;
  if (from < to && planar(&v, bands[1].used ? &bands[1] : NULL, stream_x0, stream_y0)) {
    int st = push_planar(&v, from, to - from, stream_x0);
    if (st != AV_OK) stream_status = st;
    return;
  }
  for (int y = from; y < to; y += STREAM_ROWS) {
    int n = to - y < STREAM_ROWS ? to - y : STREAM_ROWS;
    int st = rows_of(&v, bands[1].used ? &bands[1] : NULL, y, n, stream_x0, stream_w, stream_buf);
    if (st != AV_OK) {
      stream_status = st;
      return;
    }
    if (av_resize_active()) {
      for (int r = 0; r < n && st == AV_OK; r++) st = av_resize_push(stream_buf + (size_t)r * stream_w * 4, !bands[1].used);
      if (st != AV_OK) {
        stream_status = st;
        return;
      }
    } else {
      av_out(y, n, stream_buf);
    }
  }
}

/**
 * Decodes one coded image as av_decode does, handing rows [y0, y1), columns [x0, x0 + w)
 * to av_out as RGBA while it decodes; no picture is kept.
 */
EXPORT(av_decode_rows)
int av_decode_rows(const uint8_t* data, int len, int expect_w, int expect_h, int x0, int w, int y0,
                   int y1) {
  if (x0 < 0 || w < 1 || x0 + w > expect_w || y0 < 0 || y1 <= y0 || y1 > expect_h) {
    return state[S_STATUS] = AV_BAD_ARGUMENT;
  }
  stream_x0 = x0;
  stream_w = w;
  stream_y0 = y0;
  stream_y1 = y1;
  stream_status = AV_OK;
  stream_buf = malloc((size_t)STREAM_ROWS * w * 4);
  if (!stream_buf) return state[S_STATUS] = AV_TOO_LARGE;
  dav1d_row_window_out = stream_out;
  int st = decode(data, len, expect_w, expect_h, 1);
  dav1d_row_window = 0;
  free(stream_buf);
  stream_buf = NULL;
  return st;
}
