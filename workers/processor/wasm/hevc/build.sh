#!/usr/bin/env bash
# Rebuilds hevc.wasm from Debian bookworm's libde265 source, our patches (*.patch) and
# decode.c.
# The .wasm is committed: only run this to change the wrapper or the library.
#
# Needs root (apt) on Debian bookworm. Scratch lives outside the repo:
#   BUILD_DIR=/tmp/hevc-build (override with the env var).
# Usage: bash workers/processor/wasm/hevc/build.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD_DIR="${BUILD_DIR:-/tmp/hevc-build}"
PKG_VERSION="1.0.11-1+deb12u2" # Debian bookworm's libde265 (with its CVE patches)
SRC_DIR="$BUILD_DIR/libde265-1.0.11"
OUT="$HERE/hevc.wasm"

add_deb_src() {
  if ! grep -rqs '^Types: deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
    cat >/etc/apt/sources.list.d/bookworm-src.sources <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    apt-get update -qq
  fi
}

# --- toolchain: Debian's emscripten 3.1.6 (+ cmake, dpkg-dev for apt-get source) ---------
if ! command -v emcc >/dev/null || ! command -v cmake >/dev/null || ! command -v dpkg-source >/dev/null; then
  add_deb_src
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq emscripten cmake dpkg-dev
fi
# emscripten 3.1.6 as packaged needs acorn etc. from Debian's node modules.
export NODE_PATH=/usr/share/nodejs

# --- source: Debian's (with its patches), then ours (*.patch here, in name order) --------
mkdir -p "$BUILD_DIR"
PRISTINE="$BUILD_DIR/pristine"
if [ ! -d "$PRISTINE" ]; then
  add_deb_src
  rm -rf "$SRC_DIR"
  (cd "$BUILD_DIR" && apt-get source -qq "libde265=$PKG_VERSION")
  mv "$SRC_DIR" "$PRISTINE"
fi
rm -rf "$SRC_DIR"
cp -a "$PRISTINE" "$SRC_DIR"
for p in "$HERE"/*.patch; do
  patch -s -p1 -d "$SRC_DIR" <"$p"
done

# --- static libde265 (decoder only, SSE paths on WASM SIMD, no threads started) -----------
# libde265's x86 intrinsics (SSE2..SSE4.1: the 8x8/16x16/32x32 IDCTs, transform skip,
# motion compensation) compile through emscripten's SSE-to-WASM-SIMD headers: its CMake
# probes -msse4.1 (accepted with -msimd128), defines HAVE_SSE4_1 and builds libde265/x86
# with -msse2 -mssse3 -msse4.1; wasm-simd.patch replaces the CPUID probe there (no CPUID
# in WASM). Output is byte-identical to the scalar build (same integer arithmetic).
# The SSE code is 8-bit only: idct-16.patch gives the 10/12-bit inverse DCTs a WASM SIMD
# partial butterfly (wasm_simd128.h, under __wasm_simd128__), bit-identical to the C.
LIB_BUILD="$BUILD_DIR/cmake"
rm -rf "$LIB_BUILD"
mkdir -p "$LIB_BUILD"
(
  cd "$LIB_BUILD"
  emcmake cmake "$SRC_DIR" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS="-O3 -msimd128" \
    -DCMAKE_CXX_FLAGS="-O3 -msimd128 -fno-exceptions" \
    -DDISABLE_SSE=OFF -DBUILD_SHARED_LIBS=OFF -DENABLE_SDL=OFF \
    -DENABLE_DECODER=OFF -DENABLE_ENCODER=OFF \
    >cmake.log
  grep -q 'SUPPORTS_SSE4_1 - Success' cmake.log || {
    echo "libde265's CMake did not take -msse4.1: the SSE paths would be left out" >&2
    exit 1
  }
  emmake make -j"$(nproc)" de265 >make.log 2>&1
)

# --- wrapper + link -----------------------------------------------------------------------
emcc -O3 -msimd128 -DLIBDE265_STATIC_BUILD \
  -I"$SRC_DIR" -I"$LIB_BUILD" \
  -c "$HERE/decode.c" -o "$BUILD_DIR/decode.o"
em++ -O3 -msimd128 -fno-exceptions \
  "$BUILD_DIR/decode.o" "$LIB_BUILD/libde265/libde265.a" \
  --no-entry \
  -sSTANDALONE_WASM=1 \
  -sEXPORTED_FUNCTIONS='["_malloc","_free"]' \
  -sALLOW_MEMORY_GROWTH=1 \
  -sINITIAL_MEMORY=2MB \
  -sMAXIMUM_MEMORY=256MB \
  -sTOTAL_STACK=512KB \
  -sFILESYSTEM=0 \
  -o "$BUILD_DIR/hevc.wasm"

cp "$BUILD_DIR/hevc.wasm" "$OUT"
cp "$SRC_DIR/COPYING" "$HERE/LICENSE.libde265"
echo "wrote $OUT ($(stat -c %s "$OUT") bytes)"
