// HEVC still-image decoding for HEIC/HEIF: libde265 decodes one coded image (a whole
// picture or one grid tile) at a time; the planes go into a "band" (a horizontal strip
// of the output image, one tile row high), and rows of the band are converted to 8-bit
// RGBA on demand. The HEIF container (boxes, grid layout, transforms, colour boxes) is
// parsed in TypeScript (src/codecs/heif/); this file never sees it.
//
// Band slots in pairs, one pair per image drawn: 2k colour, 2k + 1 its alpha (an auxiliary
// monochrome image of the same size). A photo uses pair 0; an overlay (iovl) one pair per
// layer, up to MAX_SLOTS / 2 layers (HEIF_LIMITS.maxOverlayLayers in the TypeScript).
// A band either owns a copy of decoded tiles (grids) or adopts the decoded picture in
// place (single-image files: no copy).

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libde265/de265.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name), used))

enum {
  DR_OK = 0,
  DR_CORRUPT = 1,
  DR_UNSUPPORTED = 2,
  DR_TOO_LARGE = 3,
  DR_BAD_ARGUMENT = 4,
};

// ---- state shared with JS (int32 slots) -------------------------------------------------
enum {
  S_STATUS = 0,
  S_WIDTH,
  S_HEIGHT,
  S_CHROMA,
  S_DEPTH_LUMA,
  S_DEPTH_CHROMA,
  S_DE265_ERROR,
  S_VUI_MATRIX,
  S_VUI_FULL_RANGE,
  S_VUI_PRIMARIES,
  S_VUI_TRANSFER,
  S_COUNT
};
static int32_t state[S_COUNT];

EXPORT(dr_state) int32_t* dr_state(void) { return state; }

// ---- the decoded picture ------------------------------------------------------------------
static de265_decoder_context* ctx = NULL;
static const struct de265_image* pic = NULL;

static void release_picture(void) {
  if (ctx) de265_free_decoder(ctx);
  ctx = NULL;
  pic = NULL;
}

static int push_nals(const uint8_t* data, int len, int nal_len_size) {
  int p = 0;
  while (p < len) {
    if (len - p < nal_len_size) return DR_CORRUPT;
    uint32_t n = 0;
    for (int i = 0; i < nal_len_size; i++) n = (n << 8) | data[p + i];
    p += nal_len_size;
    if (n > (uint32_t)(len - p)) return DR_CORRUPT;
    if (n > 0) {
      de265_error e = de265_push_NAL(ctx, data + p, (int)n, 0, NULL);
      if (e != DE265_OK) {
        state[S_DE265_ERROR] = e;
        return e == DE265_ERROR_OUT_OF_MEMORY ? DR_TOO_LARGE : DR_CORRUPT;
      }
    }
    p += (int)n;
  }
  return DR_OK;
}

/**
 * Decodes one coded image: `cfg` holds the hvcC parameter sets (VPS/SPS/PPS), each with a
 * 4-byte length; `data` the image's NAL units with `nal_len_size`-byte lengths (hvcC's
 * lengthSizeMinusOne + 1). The picture stays until the next dr_decode or dr_band_put.
 * `expect_w`/`expect_h`: the size the container promised; any other size is refused
 * before it is used (a lying container must not steer the band copies).
 */
EXPORT(dr_decode)
int dr_decode(const uint8_t* cfg, int cfg_len, const uint8_t* data, int len, int nal_len_size,
              int expect_w, int expect_h) {
  release_picture();
  memset(state, 0, sizeof state);
  if (nal_len_size < 1 || nal_len_size > 4 || len <= 0 || cfg_len < 0) {
    return state[S_STATUS] = DR_BAD_ARGUMENT;
  }
  // libde265's static tables (scan orders, the significance-context lookup) are built by
  // de265_init and torn down when its count drops to zero: each decoder counts once, so
  // without a hold of our own every grid tile (48 in a 12 MP photo) rebuilt them, ~10 % of
  // the decode. Held for the instance's life (~11 KB).
  static int held = 0;
  if (!held) {
    if (de265_init() != DE265_OK) return state[S_STATUS] = DR_TOO_LARGE;
    held = 1;
  }
  ctx = de265_new_decoder();
  if (!ctx) return state[S_STATUS] = DR_TOO_LARGE;
  // A damaged picture is an error here, not a grey-smeared image.
  de265_set_parameter_bool(ctx, DE265_DECODER_PARAM_SUPPRESS_FAULTY_PICTURES, 1);
  de265_set_parameter_bool(ctx, DE265_DECODER_PARAM_BOOL_SEI_CHECK_HASH, 0);
  int st = push_nals(cfg, cfg_len, 4);
  if (st == DR_OK) st = push_nals(data, len, nal_len_size);
  if (st != DR_OK) {
    release_picture();
    return state[S_STATUS] = st;
  }
  de265_flush_data(ctx);
  int more = 1;
  while (more && !pic) {
    more = 0;
    de265_error e = de265_decode(ctx, &more);
    if (e != DE265_OK && e != DE265_ERROR_WAITING_FOR_INPUT_DATA) {
      state[S_DE265_ERROR] = e;
      release_picture();
      return state[S_STATUS] = e == DE265_ERROR_OUT_OF_MEMORY ? DR_TOO_LARGE : DR_CORRUPT;
    }
    pic = de265_get_next_picture(ctx);
  }
  if (!pic) {
    int w = de265_get_warning(ctx);
    state[S_DE265_ERROR] = w;
    release_picture();
    return state[S_STATUS] = DR_CORRUPT;
  }
  state[S_WIDTH] = de265_get_image_width(pic, 0);
  state[S_HEIGHT] = de265_get_image_height(pic, 0);
  state[S_CHROMA] = de265_get_chroma_format(pic);
  state[S_DEPTH_LUMA] = de265_get_bits_per_pixel(pic, 0);
  state[S_DEPTH_CHROMA] = state[S_CHROMA] == de265_chroma_mono ? 0 : de265_get_bits_per_pixel(pic, 1);
  state[S_VUI_MATRIX] = de265_get_image_matrix_coefficients(pic);
  state[S_VUI_FULL_RANGE] = de265_get_image_full_range_flag(pic);
  state[S_VUI_PRIMARIES] = de265_get_image_colour_primaries(pic);
  state[S_VUI_TRANSFER] = de265_get_image_transfer_characteristics(pic);
  int depth = state[S_DEPTH_LUMA];
  if (depth < 8 || depth > 16 || (state[S_DEPTH_CHROMA] && state[S_DEPTH_CHROMA] != depth)) {
    release_picture();
    return state[S_STATUS] = DR_UNSUPPORTED;
  }
  if (state[S_WIDTH] != expect_w || state[S_HEIGHT] != expect_h) {
    release_picture();
    return state[S_STATUS] = DR_CORRUPT;
  }
  return state[S_STATUS] = DR_OK;
}

// ---- bands --------------------------------------------------------------------------------
typedef struct {
  int used;
  int width, height;  // band size in pixels (luma)
  int y0;             // first image row the band holds
  int chroma;         // de265_chroma
  int depth;          // bits per sample (8 → 1 byte, more → 2 bytes)
  int sx, sy;         // chroma subsampling shifts
  uint8_t* plane[3];
  int stride[3];      // bytes per row
  int owned;          // 1: planes malloc'd here; 0: adopted from the decoder
  de265_decoder_context* adopted_ctx;
} Band;

#define MAX_SLOTS 32
static Band bands[MAX_SLOTS];
#define VALID_SLOT(s) ((s) >= 0 && (s) < MAX_SLOTS)

static void band_free(Band* b) {
  if (b->owned) {
    for (int c = 0; c < 3; c++) free(b->plane[c]);
  } else if (b->adopted_ctx) {
    de265_free_decoder(b->adopted_ctx);
  }
  memset(b, 0, sizeof *b);
}

EXPORT(dr_band_free) void dr_band_free(int slot) {
  if (VALID_SLOT(slot)) band_free(&bands[slot]);
}

static void set_shifts(Band* b) {
  b->sx = (b->chroma == de265_chroma_420 || b->chroma == de265_chroma_422) ? 1 : 0;
  b->sy = b->chroma == de265_chroma_420 ? 1 : 0;
}

/** A band of `width` x `height` starting at image row `y0`, for tiles of this format. */
EXPORT(dr_band_new)
int dr_band_new(int slot, int width, int height, int y0, int chroma, int depth) {
  if (!VALID_SLOT(slot)) return DR_BAD_ARGUMENT;
  if (width < 1 || height < 1 || chroma < 0 || chroma > 3 || depth < 8 || depth > 16) {
    return DR_BAD_ARGUMENT;
  }
  Band* b = &bands[slot];
  band_free(b);
  b->used = 1;
  b->width = width;
  b->height = height;
  b->y0 = y0;
  b->chroma = chroma;
  b->depth = depth;
  b->owned = 1;
  set_shifts(b);
  int bps = depth > 8 ? 2 : 1;
  int planes = chroma == de265_chroma_mono ? 1 : 3;
  for (int c = 0; c < planes; c++) {
    int w = c ? (width + (1 << b->sx) - 1) >> b->sx : width;
    int h = c ? (height + (1 << b->sy) - 1) >> b->sy : height;
    b->stride[c] = w * bps;
    b->plane[c] = calloc((size_t)h, (size_t)b->stride[c]);
    if (!b->plane[c]) {
      band_free(b);
      return DR_TOO_LARGE;
    }
  }
  return DR_OK;
}

/**
 * Copies the decoded picture into the band with its top-left corner at band pixel (x0, y0),
 * clipped to the band (grid tiles at the right and bottom edges overhang the image), then
 * frees the picture and its decoder.
 */
EXPORT(dr_band_put) int dr_band_put(int slot, int x0, int y0) {
  if (!VALID_SLOT(slot) || !pic) return DR_BAD_ARGUMENT;
  Band* b = &bands[slot];
  if (!b->used || !b->owned) return DR_BAD_ARGUMENT;
  if ((int)de265_get_chroma_format(pic) != b->chroma || de265_get_bits_per_pixel(pic, 0) != b->depth) {
    release_picture();
    return DR_CORRUPT;  // grid tiles must share one format
  }
  if (x0 < 0 || y0 < 0 || x0 >= b->width || y0 >= b->height) {
    release_picture();
    return DR_BAD_ARGUMENT;
  }
  int bps = b->depth > 8 ? 2 : 1;
  int planes = b->chroma == de265_chroma_mono ? 1 : 3;
  for (int c = 0; c < planes; c++) {
    int sx = c ? b->sx : 0, sy = c ? b->sy : 0;
    int stride = 0;
    const uint8_t* src = de265_get_image_plane(pic, c, &stride);
    int pw = de265_get_image_width(pic, c), ph = de265_get_image_height(pic, c);
    int bx = x0 >> sx, by = y0 >> sy;
    int bw = (b->width + (1 << sx) - 1) >> sx, bh = (b->height + (1 << sy) - 1) >> sy;
    int w = pw < bw - bx ? pw : bw - bx;
    int h = ph < bh - by ? ph : bh - by;
    for (int y = 0; y < h; y++) {
      memcpy(b->plane[c] + (size_t)(by + y) * b->stride[c] + (size_t)bx * bps,
             src + (size_t)y * stride, (size_t)w * bps);
    }
  }
  release_picture();
  return DR_OK;
}

/** Makes the decoded picture itself the band (the whole image): no copy. */
EXPORT(dr_band_adopt) int dr_band_adopt(int slot) {
  if (!VALID_SLOT(slot) || !pic) return DR_BAD_ARGUMENT;
  Band* b = &bands[slot];
  band_free(b);
  b->used = 1;
  b->width = de265_get_image_width(pic, 0);
  b->height = de265_get_image_height(pic, 0);
  b->y0 = 0;
  b->chroma = de265_get_chroma_format(pic);
  b->depth = de265_get_bits_per_pixel(pic, 0);
  b->owned = 0;
  set_shifts(b);
  int planes = b->chroma == de265_chroma_mono ? 1 : 3;
  for (int c = 0; c < planes; c++) {
    b->plane[c] = (uint8_t*)de265_get_image_plane(pic, c, &b->stride[c]);
  }
  b->adopted_ctx = ctx;  // the picture lives as long as its decoder
  ctx = NULL;
  pic = NULL;
  return DR_OK;
}

// ---- colour --------------------------------------------------------------------------------
// YCbCr → R'G'B' (matrix and range from the colr nclx box, else the VUI), then optionally a
// gamut conversion in linear light (Display P3 / BT.2020 primaries → sRGB primaries) with the
// sRGB transfer curve on both sides.
static float kr = 0.299f, kb = 0.114f;
static int terms_depth = 0;  // depth the term tables below hold (0: none); see ensure_terms
static int identity_matrix = 0;  // matrix_coefficients 0: GBR
static int full_range = 1;
static int gamut = 0;
static float gm[9];
#define LUT_BITS 12
#define LUT_SIZE (1 << LUT_BITS)
static float to_linear[LUT_SIZE + 1];
static uint8_t to_srgb8[LUT_SIZE + 1];

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
EXPORT(dr_set_color) int dr_set_color(int matrix, int full, const float* g) {
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
  terms_depth = 0;
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
  return DR_OK;
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

/**
 * Writes one pixel's R'G'B' (0..1, sRGB-like transfer) as sRGB8: through the gamut matrix
 * in linear light when dr_set_color was given one. The one place the rule lives: HEIC rows
 * (dr_rows) and other decoders' RGBA8 output (dr_gamut_rgba8) both come through here.
 */
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

/**
 * Converts `n` RGBA8 pixels at `px` in place to sRGB primaries with the gamut dr_set_color
 * set (alpha untouched): for decoders that hand back RGBA of another gamut (AVIF through
 * libavif). Without a gamut it leaves the pixels as they are.
 */
EXPORT(dr_gamut_rgba8) int dr_gamut_rgba8(uint8_t* px, int n) {
  if (n < 0) return DR_BAD_ARGUMENT;
  if (!gamut) return DR_OK;
  const float s = 1.0f / 255.0f;
  for (int i = 0; i < n; i++) {
    uint8_t* p = px + (size_t)i * 4;
    put_rgb8(p, (float)p[0] * s, (float)p[1] * s, (float)p[2] * s);
  }
  return DR_OK;
}

// ---- rows: a table-driven path for 8..10-bit YCbCr ----------------------------------------
// Per-sample terms of the conversion, the same float expressions dr_rows' general loop
// evaluates per pixel (so the output is byte-identical), looked up instead: the
// per-pixel work drops from ~9 float operations and 4 branches to 4 additions. Filled
// for one depth and the current matrix/range (dr_set_color empties them).
#define TERMS_MAX_DEPTH 10
static float t_y[1 << TERMS_MAX_DEPTH];    // Y
static float t_rcr[1 << TERMS_MAX_DEPTH];  // crr * Cr
static float t_gcb[1 << TERMS_MAX_DEPTH];  // cbg * Cb
static float t_gcr[1 << TERMS_MAX_DEPTH];  // crg * Cr
static float t_bcb[1 << TERMS_MAX_DEPTH];  // cbb * Cb

typedef struct {
  float yoff, yscale, coff, cscale, crr, cbb, cbg, crg;
} Coefs;

static Coefs coefs_for(int d) {
  Coefs c;
  const float maxv = (float)((1 << d) - 1);
  const float kg = 1.0f - kr - kb;
  c.yoff = full_range ? 0.0f : (float)(16 << (d - 8));
  c.yscale = full_range ? 1.0f / maxv : 1.0f / (float)(219 << (d - 8));
  c.coff = (float)(1 << (d - 1));
  c.cscale = full_range ? 1.0f / maxv : 1.0f / (float)(224 << (d - 8));
  c.crr = 2.0f * (1.0f - kr);
  c.cbb = 2.0f * (1.0f - kb);
  c.cbg = c.cbb * kb / kg;
  c.crg = c.crr * kr / kg;
  return c;
}

static void ensure_terms(int d) {
  if (terms_depth == d) return;
  const Coefs c = coefs_for(d);
  for (int v = 0; v < (1 << d); v++) {
    float Y = ((float)v - c.yoff) * c.yscale;
    float C = ((float)v - c.coff) * c.cscale;
    t_y[v] = Y;
    t_rcr[v] = c.crr * C;
    t_gcb[v] = c.cbg * C;
    t_gcr[v] = c.crg * C;
    t_bcb[v] = c.cbb * C;
  }
  terms_depth = d;
}

static inline uint8_t encode8_plain(float v) { return (uint8_t)(clamp01(v) * 255.0f + 0.5f); }

/**
 * One row of `w` pixels from column x0 to RGBA8 (alpha left alone), through the term
 * tables. `wide`: 16-bit samples (masked to the table, whose depth the caller checked);
 * `with_gamut`: through put_rgb8's gamut step. Always inlined with constant flags, so each
 * of the four loops is branch-free.
 */
static inline __attribute__((always_inline)) void rows_terms_row(
    const Band* b, int by, int x0, int w, uint8_t* o, const int wide, const int with_gamut) {
  const int cy = by >> b->sy;
  const int sx = b->sx;
  const int mask = (1 << b->depth) - 1;
  const uint8_t* yr = b->plane[0] + (size_t)by * b->stride[0];
  const uint8_t* cbrow = b->plane[1] + (size_t)cy * b->stride[1];
  const uint8_t* crow = b->plane[2] + (size_t)cy * b->stride[2];
  for (int i = 0; i < w; i++) {
    const int x = x0 + i, cx = x >> sx;
    int yv, cb, cr;
    if (wide) {
      yv = ((const uint16_t*)yr)[x] & mask;
      cb = ((const uint16_t*)cbrow)[cx] & mask;
      cr = ((const uint16_t*)crow)[cx] & mask;
    } else {
      yv = yr[x];
      cb = cbrow[cx];
      cr = crow[cx];
    }
    const float Y = t_y[yv];
    const float R = Y + t_rcr[cr];
    const float G = Y - t_gcb[cb] - t_gcr[cr];
    const float B = Y + t_bcb[cb];
    uint8_t* p = o + (size_t)i * 4;
    if (with_gamut) {
      put_rgb8(p, R, G, B);
    } else {
      p[0] = encode8_plain(R);
      p[1] = encode8_plain(G);
      p[2] = encode8_plain(B);
    }
  }
}

/**
 * One row without a gamut step, 4 pixels at a time in WASM SIMD: the same float
 * operations in the same order as the scalar loop, per lane (IEEE single precision, no
 * fused multiply-add in WASM), so the bytes are identical; the 4 pixels leave as one
 * 16-byte store of RGBA words (alpha 255). The tail (w % 4) goes through the tables.
 */
static inline __attribute__((always_inline)) int rows_simd_row(
    const Band* b, int by, int x0, int w, uint8_t* o, const int wide) {
  const Coefs c = coefs_for(b->depth);
  const int cy = by >> b->sy;
  const int sx = b->sx;
  const uint8_t* yr = b->plane[0] + (size_t)by * b->stride[0];
  const uint8_t* cbrow = b->plane[1] + (size_t)cy * b->stride[1];
  const uint8_t* crow = b->plane[2] + (size_t)cy * b->stride[2];
  const v128_t yoff = wasm_f32x4_splat(c.yoff), yscale = wasm_f32x4_splat(c.yscale);
  const v128_t coff = wasm_f32x4_splat(c.coff), cscale = wasm_f32x4_splat(c.cscale);
  const v128_t k_rcr = wasm_f32x4_splat(c.crr), k_bcb = wasm_f32x4_splat(c.cbb);
  const v128_t k_gcb = wasm_f32x4_splat(c.cbg), k_gcr = wasm_f32x4_splat(c.crg);
  const v128_t zero = wasm_f32x4_splat(0.0f), one = wasm_f32x4_splat(1.0f);
  const v128_t s255 = wasm_f32x4_splat(255.0f), half = wasm_f32x4_splat(0.5f);
  const v128_t opaque = wasm_i32x4_splat((int32_t)0xff000000u);
#define DR_LOAD(row, i) (wide ? (int32_t)((const uint16_t*)(row))[i] : (int32_t)(row)[i])
#define DR_ENC(v) \
  wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_add( \
      wasm_f32x4_mul(wasm_f32x4_min(wasm_f32x4_max((v), zero), one), s255), half))
  int i = 0;
  for (; i + 4 <= w; i += 4) {
    const int x = x0 + i;
    const v128_t vy = wasm_f32x4_convert_i32x4(wasm_i32x4_make(
        DR_LOAD(yr, x), DR_LOAD(yr, x + 1), DR_LOAD(yr, x + 2), DR_LOAD(yr, x + 3)));
    const int c0 = x >> sx, c1 = (x + 1) >> sx, c2 = (x + 2) >> sx, c3 = (x + 3) >> sx;
    const v128_t vcb = wasm_f32x4_convert_i32x4(wasm_i32x4_make(
        DR_LOAD(cbrow, c0), DR_LOAD(cbrow, c1), DR_LOAD(cbrow, c2), DR_LOAD(cbrow, c3)));
    const v128_t vcr = wasm_f32x4_convert_i32x4(wasm_i32x4_make(
        DR_LOAD(crow, c0), DR_LOAD(crow, c1), DR_LOAD(crow, c2), DR_LOAD(crow, c3)));
    const v128_t Y = wasm_f32x4_mul(wasm_f32x4_sub(vy, yoff), yscale);
    const v128_t Cb = wasm_f32x4_mul(wasm_f32x4_sub(vcb, coff), cscale);
    const v128_t Cr = wasm_f32x4_mul(wasm_f32x4_sub(vcr, coff), cscale);
    const v128_t R = wasm_f32x4_add(Y, wasm_f32x4_mul(k_rcr, Cr));
    const v128_t G =
        wasm_f32x4_sub(wasm_f32x4_sub(Y, wasm_f32x4_mul(k_gcb, Cb)), wasm_f32x4_mul(k_gcr, Cr));
    const v128_t B = wasm_f32x4_add(Y, wasm_f32x4_mul(k_bcb, Cb));
    const v128_t px = wasm_v128_or(
        wasm_v128_or(DR_ENC(R), wasm_i32x4_shl(DR_ENC(G), 8)),
        wasm_v128_or(wasm_i32x4_shl(DR_ENC(B), 16), opaque));
    wasm_v128_store(o + (size_t)i * 4, px);
  }
#undef DR_LOAD
#undef DR_ENC
  return i;
}

/** dr_rows for YCbCr (not GBR, not monochrome) of 8..TERMS_MAX_DEPTH bits. */
static void rows_terms(const Band* b, const Band* a, int y, int n, int x0, int w, uint8_t* out) {
  ensure_terms(b->depth);
  const int wide = b->depth > 8;
  for (int r = 0; r < n; r++) {
    const int by = y + r - b->y0;
    uint8_t* o = out + (size_t)r * w * 4;
    if (gamut) {
      if (wide) rows_terms_row(b, by, x0, w, o, 1, 1);
      else rows_terms_row(b, by, x0, w, o, 0, 1);
    } else {
      const int done = wide ? rows_simd_row(b, by, x0, w, o, 1) : rows_simd_row(b, by, x0, w, o, 0);
      if (done < w) {
        if (wide) rows_terms_row(b, by, x0 + done, w - done, o + (size_t)done * 4, 1, 0);
        else rows_terms_row(b, by, x0 + done, w - done, o + (size_t)done * 4, 0, 0);
      }
    }
    if (a) {
      const int ay = y + r - a->y0;
      const int ashift = a->depth - 8;
      for (int i = 0; i < w; i++) {
        int av = sample(a, 0, x0 + i, ay);
        o[i * 4 + 3] = (uint8_t)(ashift ? av >> ashift : av);
      }
    } else {
      for (int i = 0; i < w; i++) o[i * 4 + 3] = 255;
    }
  }
}

/**
 * Converts image rows [y, y + n), columns [x0, x0 + w), of the image in band `slot` to
 * RGBA8 at `out` (w * 4 bytes per row), alpha from band `alpha_slot` (-1: opaque). Both
 * bands must hold those rows. Chroma is upsampled by nearest sample: the rows are about
 * to be area-averaged down to a preview anyway.
 */
EXPORT(dr_rows) int dr_rows(int slot, int alpha_slot, int y, int n, int x0, int w, uint8_t* out) {
  if (!VALID_SLOT(slot) || (alpha_slot != -1 && !VALID_SLOT(alpha_slot))) return DR_BAD_ARGUMENT;
  const Band* b = &bands[slot];
  const Band* a = alpha_slot >= 0 ? &bands[alpha_slot] : NULL;
  if (a && !a->used) return DR_BAD_ARGUMENT;
  if (!b->used || n < 1 || w < 1 || x0 < 0 || x0 + w > b->width) return DR_BAD_ARGUMENT;
  if (y < b->y0 || y + n > b->y0 + b->height) return DR_BAD_ARGUMENT;
  if (a && (y < a->y0 || y + n > a->y0 + a->height || x0 + w > a->width)) return DR_BAD_ARGUMENT;
  if (!identity_matrix && b->chroma != de265_chroma_mono && b->depth <= TERMS_MAX_DEPTH) {
    rows_terms(b, a, y, n, x0, w, out);
    return DR_OK;
  }
  const Coefs c = coefs_for(b->depth);
  const int ashift = a ? a->depth - 8 : 0;
  const int mono = b->chroma == de265_chroma_mono;
  for (int r = 0; r < n; r++) {
    int by = y + r - b->y0;
    int cy = by >> b->sy;
    uint8_t* o = out + (size_t)r * w * 4;
    for (int i = 0; i < w; i++) {
      int x = x0 + i;
      float Y = ((float)sample(b, 0, x, by) - c.yoff) * c.yscale;
      float R, G, B;
      if (mono) {
        R = G = B = Y;
      } else {
        int cx = x >> b->sx;
        float Cb = ((float)sample(b, 1, cx, cy) - c.coff) * c.cscale;
        float Cr = ((float)sample(b, 2, cx, cy) - c.coff) * c.cscale;
        if (identity_matrix) {
          G = Y;
          B = Cb + 0.5f;
          R = Cr + 0.5f;
        } else {
          R = Y + c.crr * Cr;
          G = Y - c.cbg * Cb - c.crg * Cr;
          B = Y + c.cbb * Cb;
        }
      }
      put_rgb8(o + i * 4, R, G, B);
      if (a) {
        int av = sample(a, 0, x, y + r - a->y0);
        o[i * 4 + 3] = (uint8_t)(ashift ? av >> ashift : av);
      } else {
        o[i * 4 + 3] = 255;
      }
    }
  }
  return DR_OK;
}
