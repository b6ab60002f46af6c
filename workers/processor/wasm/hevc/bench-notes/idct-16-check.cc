// idct-16.patch's WASM SIMD butterfly against libde265's matrix product
// (transform_idct_add<uint16_t>), on random blocks: 4x4 to 32x32, 9/10/12-bit, one to all
// coefficients non-zero, values up to the int16 limits. Exits non-zero on any difference.
// Against the patched source that build.sh leaves in $BUILD_DIR (default /tmp/hevc-build):
//   export NODE_PATH=/usr/share/nodejs
//   em++ -O2 -msimd128 -sSINGLE_FILE=1 -I/tmp/hevc-build/libde265-1.0.11 \
//     -I/tmp/hevc-build/libde265-1.0.11/libde265 -I/tmp/hevc-build/cmake \
//     workers/processor/wasm/hevc/bench-notes/idct-16-check.cc -o /tmp/idct-16-check.js
//   node /tmp/idct-16-check.js
#include "fallback-dct.cc"
#include <cstdio>
#include <cstring>

static uint32_t s = 12345;
static uint32_t rnd() {
  s ^= s << 13;
  s ^= s >> 17;
  s ^= s << 5;
  return s;
}

template <int N> static int check(int bd, int iters) {
  int bad = 0;
  for (int it = 0; it < iters; it++) {
    int16_t co[N * N];
    memset(co, 0, sizeof co);
    // DC only, a few low-frequency, N scattered, or every coefficient.
    int mode = rnd() % 4;
    int nz = mode == 0 ? 1 : mode == 1 ? 3 : mode == 2 ? N : N * N;
    for (int k = 0; k < nz; k++) {
      int pos = mode == 0 ? 0 : (mode == 1 ? (rnd() % (N * N / 4 + 1)) : rnd() % (N * N));
      co[pos] = (rnd() % 4 == 0) ? (int)(rnd() % 65536) - 32768 : (int)(rnd() % 2001) - 1000;
    }
    uint16_t a[N * 40], b[N * 40];  // stride 40: the block inside a wider picture
    for (int i = 0; i < N * 40; i++) a[i] = b[i] = rnd() % (1 << bd);
    transform_idct_add<uint16_t>(a, 40, N, co, bd);
    transform_idct_add_16_x4<N>(b, 40, co, bd);
    if (memcmp(a, b, sizeof a)) bad++;
  }
  printf("%dx%d %d-bit: %d of %d blocks differ\n", N, N, bd, bad, iters);
  return bad;
}

int main() {
  int bad = 0;
  for (int bd : {9, 10, 12}) {
    bad += check<4>(bd, 20000);
    bad += check<8>(bd, 20000);
    bad += check<16>(bd, 10000);
    bad += check<32>(bd, 5000);
  }
  return bad != 0;
}
