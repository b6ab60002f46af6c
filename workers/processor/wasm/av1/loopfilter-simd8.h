/*
 * Darkroom: dav1d's 8-bit deblocking filter (src/loopfilter_tmpl.c, loop_filter) four
 * lines at a time in WebAssembly SIMD. dav1d's own SIMD is x86/Arm assembly; its C
 * fallback filters the four lines of an edge segment one after another, and each line's
 * arithmetic is independent of the others'. Here lane i of every i32x4 is line i, the
 * same int operations in the same order (every intermediate fits int32 as in the C), and
 * the scalar branches become masks: each lane takes exactly the branch the C takes, so
 * the output is bit-identical (checked with bench-notes/hash.ts on every AVIF fixture).
 * Copied into dav1d's src/ by build.sh and included by dav1d-lf.patch for BITDEPTH 8;
 * high bit depth keeps the C. BSD-2-Clause, as dav1d (LICENSE.dav1d).
 *
 * Memory: the C reads only the taps its filter width needs. A horizontal (vertical-edge)
 * segment here loads each line's taps in one load: 4 bytes at p1 (wd 4), 8 at p3 (wd 6
 * and 8: one byte more each side for wd 6) or 16 at p7 (wd 16: one more each side). A
 * filter of width wd only runs where both blocks' transforms are at least that wide, so
 * the extra bytes are pixels of the same row (and untouched values are stored back as
 * they were); vertical segments load exactly the C's rows.
 */
#include <wasm_simd128.h>

typedef v128_t lfv;

#define LF_ABSD(a, b) wasm_i32x4_abs(wasm_i32x4_sub(a, b))
#define LF_LE(a, b) wasm_i32x4_le(a, b)
#define LF_AND(a, b) wasm_v128_and(a, b)
#define LF_SEL(new, old, m) wasm_v128_bitselect(new, old, m)
#define LF_SUM(...) lf_sum((const lfv[]){ __VA_ARGS__ }, \
                           sizeof((const lfv[]){ __VA_ARGS__ }) / sizeof(lfv))

static inline lfv lf_sum(const lfv *const v, const int n) {
    lfv s = v[0];
    for (int i = 1; i < n; i++) s = wasm_i32x4_add(s, v[i]);
    return s;
}

/* A group of four taps (16 bytes: tap j's four lines at 4j..4j+3) as one tap's i32x4. */
#define LF_TAP(u, j) \
    wasm_i8x16_shuffle(u, wasm_i32x4_splat(0), 4 * (j), 16, 16, 16, 4 * (j) + 1, 16, 16, \
                       16, 4 * (j) + 2, 16, 16, 16, 4 * (j) + 3, 16, 16, 16)

/* Four taps' i32x4 (values 0..255) back to a group of 16 bytes. */
static inline lfv lf_pack(const lfv a, const lfv b, const lfv c, const lfv d) {
    return wasm_u8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(a, b),
                                   wasm_i16x8_narrow_i32x4(c, d));
}

/* Four lines' bytes (r0..r3: bytes 0..15 each) as four groups of four taps each. */
static inline void lf_transpose_in(const lfv r0, const lfv r1, const lfv r2, const lfv r3,
                                   lfv g[4])
{
    const lfv t01 = wasm_i8x16_shuffle(r0, r1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6,
                                       22, 7, 23);
    const lfv t01h = wasm_i8x16_shuffle(r0, r1, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13,
                                        29, 14, 30, 15, 31);
    const lfv t23 = wasm_i8x16_shuffle(r2, r3, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6,
                                       22, 7, 23);
    const lfv t23h = wasm_i8x16_shuffle(r2, r3, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13,
                                        29, 14, 30, 15, 31);
    g[0] = wasm_i16x8_shuffle(t01, t23, 0, 8, 1, 9, 2, 10, 3, 11);
    g[1] = wasm_i16x8_shuffle(t01, t23, 4, 12, 5, 13, 6, 14, 7, 15);
    g[2] = wasm_i16x8_shuffle(t01h, t23h, 0, 8, 1, 9, 2, 10, 3, 11);
    g[3] = wasm_i16x8_shuffle(t01h, t23h, 4, 12, 5, 13, 6, 14, 7, 15);
}

/* Line i's first eight bytes from two groups (taps 0..3 in a, 4..7 in b). */
#define LF_LINE8(a, b, i) \
    wasm_i8x16_shuffle(a, b, (i), 4 + (i), 8 + (i), 12 + (i), 16 + (i), 20 + (i), \
                       24 + (i), 28 + (i), 0, 0, 0, 0, 0, 0, 0, 0)
#define LF_LINE4(a, i) \
    wasm_i8x16_shuffle(a, a, (i), 4 + (i), 8 + (i), 12 + (i), 0, 0, 0, 0, 0, 0, 0, 0, 0, \
                       0, 0, 0)

/*
 * The filter on taps P[-8..7] (p7..q7; P[-1] is p0, P[0] is q0) of four lines, in place.
 * Only the taps the C reads for this wd need be loaded; only those it writes change.
 */
static inline void lf_core(lfv *const P, const int E, const int I, const int H,
                           const int wd)
{
    const lfv vI = wasm_i32x4_splat(I), vE = wasm_i32x4_splat(E);
    const lfv one = wasm_i32x4_splat(1);
    const lfv p1 = P[-2], p0 = P[-1], q0 = P[0], q1 = P[1];
    lfv p2 = p1, q2 = q1, p3 = p1, q3 = q1;

    lfv fm = LF_AND(LF_LE(LF_ABSD(p1, p0), vI), LF_LE(LF_ABSD(q1, q0), vI));
    fm = LF_AND(fm, LF_LE(wasm_i32x4_add(wasm_i32x4_shl(LF_ABSD(p0, q0), 1),
                                         wasm_i32x4_shr(LF_ABSD(p1, q1), 1)), vE));
    if (wd > 4) {
        p2 = P[-3];
        q2 = P[2];
        fm = LF_AND(fm, LF_AND(LF_LE(LF_ABSD(p2, p1), vI), LF_LE(LF_ABSD(q2, q1), vI)));
        if (wd > 6) {
            p3 = P[-4];
            q3 = P[3];
            fm = LF_AND(fm, LF_AND(LF_LE(LF_ABSD(p3, p2), vI), LF_LE(LF_ABSD(q3, q2), vI)));
        }
    }
    if (!wasm_v128_any_true(fm)) return;

    /* The lanes of the flat filters (wd 16, 8, 6); the rest of fm takes the narrow one. */
    lfv narrow = fm;
    if (wd >= 6) {
        lfv flat8in = LF_AND(LF_AND(LF_LE(LF_ABSD(p2, p0), one), LF_LE(LF_ABSD(p1, p0), one)),
                             LF_AND(LF_LE(LF_ABSD(q1, q0), one), LF_LE(LF_ABSD(q2, q0), one)));
        if (wd >= 8)
            flat8in = LF_AND(flat8in, LF_AND(LF_LE(LF_ABSD(p3, p0), one),
                                             LF_LE(LF_ABSD(q3, q0), one)));
        flat8in = LF_AND(flat8in, fm);
        narrow = wasm_v128_andnot(fm, flat8in);
        lfv m8 = flat8in;
        if (wd >= 16 && wasm_v128_any_true(flat8in)) {
            const lfv p6 = P[-7], p5 = P[-6], p4 = P[-5];
            const lfv q4 = P[4], q5 = P[5], q6 = P[6];
            const lfv flat8out =
                LF_AND(LF_AND(LF_AND(LF_LE(LF_ABSD(p6, p0), one), LF_LE(LF_ABSD(p5, p0), one)),
                              LF_AND(LF_LE(LF_ABSD(p4, p0), one), LF_LE(LF_ABSD(q4, q0), one))),
                       LF_AND(LF_LE(LF_ABSD(q5, q0), one), LF_LE(LF_ABSD(q6, q0), one)));
            const lfv m16 = LF_AND(flat8in, flat8out);
            m8 = wasm_v128_andnot(flat8in, m16);
            if (wasm_v128_any_true(m16)) {
                /*
                 * The C's twelve 13-term sums as a running sum (integers: any order is
                 * exact): output i is x[i-6..i+6] + x[i-1] + x[i] + x[i+1], taps past p6
                 * and q6 repeating them, so each next output adds x[i+7] + x[i+2] and
                 * drops x[i-6] + x[i-1].
                 */
#define X2(v) wasm_i32x4_shl(v, 1)
#define LF_X(j) P[(j) < -7 ? -7 : (j) > 6 ? 6 : (j)]
                const lfv e8 = wasm_i32x4_splat(8);
                lfv sum = LF_SUM(p6, p6, p6, p6, p6, X2(p6), X2(p5), X2(p4), p3, p2, p1, p0, q0);
                lfv n[12];
                n[0] = wasm_i32x4_shr(wasm_i32x4_add(sum, e8), 4);
                for (int i = -6; i < 5; i++) {
                    sum = wasm_i32x4_add(sum, wasm_i32x4_add(LF_X(i + 7), LF_X(i + 2)));
                    sum = wasm_i32x4_sub(sum, wasm_i32x4_add(LF_X(i - 6), LF_X(i - 1)));
                    n[i + 7] = wasm_i32x4_shr(wasm_i32x4_add(sum, e8), 4);
                }
#undef LF_X
                for (int k = 0; k < 12; k++) P[k - 6] = LF_SEL(n[k], P[k - 6], m16);
            }
        }
        if (wd >= 8) {
            if (wasm_v128_any_true(m8)) {
                const lfv e4 = wasm_i32x4_splat(4);
#define LF_S8(...) wasm_i32x4_shr(LF_SUM(__VA_ARGS__, e4), 3)
                const lfv n[6] = {
                    LF_S8(p3, p3, p3, X2(p2), p1, p0, q0),
                    LF_S8(p3, p3, p2, X2(p1), p0, q0, q1),
                    LF_S8(p3, p2, p1, X2(p0), q0, q1, q2),
                    LF_S8(p2, p1, p0, X2(q0), q1, q2, q3),
                    LF_S8(p1, p0, q0, X2(q1), q2, q3, q3),
                    LF_S8(p0, q0, q1, X2(q2), q3, q3, q3),
                };
                for (int k = 0; k < 6; k++) P[k - 3] = LF_SEL(n[k], P[k - 3], m8);
            }
        } else if (wd == 6 && wasm_v128_any_true(flat8in)) {
            const lfv e4 = wasm_i32x4_splat(4);
            const lfv n[4] = {
                LF_S8(p2, X2(p2), X2(p1), X2(p0), q0),
                LF_S8(p2, X2(p1), X2(p0), X2(q0), q1),
                LF_S8(p1, X2(p0), X2(q0), X2(q1), q2),
                LF_S8(p0, X2(q0), X2(q1), X2(q2), q2),
            };
#undef LF_S8
#undef X2
            for (int k = 0; k < 4; k++) P[k - 2] = LF_SEL(n[k], P[k - 2], flat8in);
        }
    }
    if (!wasm_v128_any_true(narrow)) return;

    /* The narrow filter (8-bit: iclip_diff is [-128, 127], iclip_pixel [0, 255]). */
    const lfv lo = wasm_i32x4_splat(-128), hi = wasm_i32x4_splat(127);
    const lfv zero = wasm_i32x4_splat(0), max = wasm_i32x4_splat(255);
    const lfv vH = wasm_i32x4_splat(H);
#define LF_CLIP(v, a, b) wasm_i32x4_min(wasm_i32x4_max(v, a), b)
    const lfv hev = wasm_v128_or(wasm_i32x4_gt(LF_ABSD(p1, p0), vH),
                                 wasm_i32x4_gt(LF_ABSD(q1, q0), vH));
    lfv f = LF_AND(LF_CLIP(wasm_i32x4_sub(p1, q1), lo, hi), hev);
    const lfv d = wasm_i32x4_sub(q0, p0);
    f = LF_CLIP(wasm_i32x4_add(wasm_i32x4_add(wasm_i32x4_add(d, d), d), f), lo, hi);
    const lfv f1 = wasm_i32x4_shr(wasm_i32x4_min(wasm_i32x4_add(f, wasm_i32x4_splat(4)), hi), 3);
    const lfv f2 = wasm_i32x4_shr(wasm_i32x4_min(wasm_i32x4_add(f, wasm_i32x4_splat(3)), hi), 3);
    P[-1] = LF_SEL(LF_CLIP(wasm_i32x4_add(p0, f2), zero, max), P[-1], narrow);
    P[0] = LF_SEL(LF_CLIP(wasm_i32x4_sub(q0, f1), zero, max), P[0], narrow);
    const lfv outer = wasm_v128_andnot(narrow, hev);
    if (wasm_v128_any_true(outer)) {
        const lfv f3 = wasm_i32x4_shr(wasm_i32x4_add(f1, one), 1);
        P[-2] = LF_SEL(LF_CLIP(wasm_i32x4_add(p1, f3), zero, max), P[-2], outer);
        P[1] = LF_SEL(LF_CLIP(wasm_i32x4_sub(q1, f3), zero, max), P[1], outer);
    }
#undef LF_CLIP
}

/* Taps the C reads for a filter of width wd: [-n, n). */
static inline int lf_reach(const int wd) { return wd >= 16 ? 7 : wd >= 8 ? 4 : wd == 6 ? 3 : 2; }

static NOINLINE void
loop_filter_simd8(pixel *dst, int E, int I, int H,
                  const ptrdiff_t stridea, const ptrdiff_t strideb, const int wd)
{
    lfv t[16], *const P = t + 8;
    if (stridea == 1) {
        /* A horizontal edge: each tap is four neighbouring pixels of one row. */
        const int n = lf_reach(wd);
        for (int k = -n; k < n; k++) {
            const lfv v = wasm_v128_load32_zero(dst + strideb * k);
            P[k] = wasm_u32x4_extend_low_u16x8(wasm_u16x8_extend_low_u8x16(v));
        }
        lf_core(P, E, I, H, wd);
        const int m = wd >= 16 ? 6 : wd >= 8 ? 3 : 2;
        for (int k = -m; k < m; k++) {
            const lfv b = wasm_u8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(P[k], P[k]),
                                                  wasm_i16x8_narrow_i32x4(P[k], P[k]));
            wasm_v128_store32_lane(dst + strideb * k, b, 0);
        }
        return;
    }
    /* A vertical edge: each line is one row's run of taps; transposed in and out. */
    pixel *const r0 = dst, *const r1 = dst + stridea, *const r2 = dst + 2 * stridea,
          *const r3 = dst + 3 * stridea;
    lfv g[4];
    if (wd >= 16) {
        lf_transpose_in(wasm_v128_load(r0 - 8), wasm_v128_load(r1 - 8),
                        wasm_v128_load(r2 - 8), wasm_v128_load(r3 - 8), g);
        for (int j = 0; j < 4; j++) {
            P[-8 + 4 * j] = LF_TAP(g[j], 0);
            P[-7 + 4 * j] = LF_TAP(g[j], 1);
            P[-6 + 4 * j] = LF_TAP(g[j], 2);
            P[-5 + 4 * j] = LF_TAP(g[j], 3);
        }
        lf_core(P, E, I, H, wd);
        for (int j = 0; j < 4; j++)
            g[j] = lf_pack(P[-8 + 4 * j], P[-7 + 4 * j], P[-6 + 4 * j], P[-5 + 4 * j]);
#define LF_LINE16(i) \
        wasm_i64x2_shuffle(LF_LINE8(g[0], g[1], i), LF_LINE8(g[2], g[3], i), 0, 2)
        wasm_v128_store(r0 - 8, LF_LINE16(0));
        wasm_v128_store(r1 - 8, LF_LINE16(1));
        wasm_v128_store(r2 - 8, LF_LINE16(2));
        wasm_v128_store(r3 - 8, LF_LINE16(3));
#undef LF_LINE16
    } else if (wd >= 6) {
        lf_transpose_in(wasm_v128_load64_zero(r0 - 4), wasm_v128_load64_zero(r1 - 4),
                        wasm_v128_load64_zero(r2 - 4), wasm_v128_load64_zero(r3 - 4), g);
        for (int j = 0; j < 2; j++) {
            P[-4 + 4 * j] = LF_TAP(g[j], 0);
            P[-3 + 4 * j] = LF_TAP(g[j], 1);
            P[-2 + 4 * j] = LF_TAP(g[j], 2);
            P[-1 + 4 * j] = LF_TAP(g[j], 3);
        }
        lf_core(P, E, I, H, wd);
        g[0] = lf_pack(P[-4], P[-3], P[-2], P[-1]);
        g[1] = lf_pack(P[0], P[1], P[2], P[3]);
        wasm_v128_store64_lane(r0 - 4, LF_LINE8(g[0], g[1], 0), 0);
        wasm_v128_store64_lane(r1 - 4, LF_LINE8(g[0], g[1], 1), 0);
        wasm_v128_store64_lane(r2 - 4, LF_LINE8(g[0], g[1], 2), 0);
        wasm_v128_store64_lane(r3 - 4, LF_LINE8(g[0], g[1], 3), 0);
    } else {
        lf_transpose_in(wasm_v128_load32_zero(r0 - 2), wasm_v128_load32_zero(r1 - 2),
                        wasm_v128_load32_zero(r2 - 2), wasm_v128_load32_zero(r3 - 2), g);
        P[-2] = LF_TAP(g[0], 0);
        P[-1] = LF_TAP(g[0], 1);
        P[0] = LF_TAP(g[0], 2);
        P[1] = LF_TAP(g[0], 3);
        lf_core(P, E, I, H, wd);
        g[0] = lf_pack(P[-2], P[-1], P[0], P[1]);
        wasm_v128_store32_lane(r0 - 2, LF_LINE4(g[0], 0), 0);
        wasm_v128_store32_lane(r1 - 2, LF_LINE4(g[0], 1), 0);
        wasm_v128_store32_lane(r2 - 2, LF_LINE4(g[0], 2), 0);
        wasm_v128_store32_lane(r3 - 2, LF_LINE4(g[0], 3), 0);
    }
}
