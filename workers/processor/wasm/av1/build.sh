#!/usr/bin/env bash
# Rebuilds av1.wasm from Debian bookworm's dav1d source + decode.c.
# The .wasm is committed: only run this to change the wrapper or the library.
#
# Needs root (apt) on Debian bookworm. Scratch lives outside the repo:
#   BUILD_DIR=/tmp/av1-build (override with the env var).
# Usage: bash workers/processor/wasm/av1/build.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD_DIR="${BUILD_DIR:-/tmp/av1-build}"
PKG_VERSION="1.0.0-2+deb12u1" # Debian bookworm's dav1d (with its CVE patches)
SRC_DIR="$BUILD_DIR/dav1d-1.0.0"
OUT="$HERE/av1.wasm"

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

# --- toolchain: Debian's emscripten 3.1.6, meson + ninja, dpkg-dev for apt-get source ------
if ! command -v emcc >/dev/null || ! command -v meson >/dev/null || ! command -v dpkg-source >/dev/null; then
  add_deb_src
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq emscripten meson ninja-build dpkg-dev
fi
# emscripten 3.1.6 as packaged needs acorn etc. from Debian's node modules.
export NODE_PATH=/usr/share/nodejs

# --- source: Debian's (with its patches), then ours ------------------------------------------
mkdir -p "$BUILD_DIR"
if [ ! -f "$BUILD_DIR/dav1d_$PKG_VERSION.dsc" ]; then
  add_deb_src
  (cd "$BUILD_DIR" && apt-get source -qq --download-only "dav1d=$PKG_VERSION")
fi
# Unpacked afresh each build, so the patch below always applies to Debian's tree.
rm -rf "$SRC_DIR"
dpkg-source -x "$BUILD_DIR/dav1d_$PKG_VERSION.dsc" "$SRC_DIR" >/dev/null
# The row window (decode.c's pic_alloc): a single-threaded key frame decoded through a
# few superblock rows of planes, handed out as they become final, instead of a whole frame.
patch -d "$SRC_DIR" -p1 --quiet <"$HERE/dav1d-row-window.patch"
# Inverse transforms, the same output faster (dav1d has no WASM SIMD of its own): the row
# pass stops at the last row of non-zero coefficients, and DCT column passes run four
# columns at a time in WASM SIMD (src/itx_1d_x4.c, generated from dav1d's scalar DCTs).
patch -d "$SRC_DIR" -p1 --quiet <"$HERE/dav1d-itx.patch"
python3 "$HERE/gen-itx-x4.py" "$SRC_DIR/src/itx_1d.c" "$SRC_DIR/src/itx_1d_x4.c"
# The 8-bit deblocking filter four lines at a time in WASM SIMD, the same output
# (loopfilter-simd8.h, included by the patch in place of dav1d's scalar loop_filter).
cp "$HERE/loopfilter-simd8.h" "$SRC_DIR/src/loopfilter_simd8.h"
patch -d "$SRC_DIR" -p1 --quiet <"$HERE/dav1d-lf.patch"

# --- static libdav1d: no asm (x86/arm only), 8-bit and high bit depth, no tools -----------
# Threads: dav1d is linked against emscripten's pthread stubs and always opened with
# n_threads = 1, so it never starts one.
LIB_BUILD="$BUILD_DIR/meson"
rm -rf "$LIB_BUILD"
meson setup "$LIB_BUILD" "$SRC_DIR" \
  --cross-file "$HERE/emscripten.cross" \
  --buildtype=release -Ddefault_library=static \
  -Denable_asm=false -Dbitdepths=8,16 \
  -Denable_tools=false -Denable_tests=false -Dlogging=false \
  >"$BUILD_DIR/meson.log"
ninja -C "$LIB_BUILD" >"$BUILD_DIR/ninja.log"

# --- wrapper + link -----------------------------------------------------------------------
emcc -O3 -msimd128 \
  -I"$SRC_DIR/include" -I"$LIB_BUILD/include/dav1d" \
  -c "$HERE/decode.c" -o "$BUILD_DIR/decode.o"
emcc -O3 -msimd128 -c "$HERE/resize.c" -o "$BUILD_DIR/resize.o"
emcc -O3 -msimd128 -c "$HERE/resize-yuv.c" -o "$BUILD_DIR/resize-yuv.o"
emcc -O3 -msimd128 \
  "$BUILD_DIR/decode.o" "$BUILD_DIR/resize.o" "$BUILD_DIR/resize-yuv.o" "$LIB_BUILD/src/libdav1d.a" \
  --no-entry \
  --js-library "$HERE/imports.js" \
  -sSTANDALONE_WASM=1 \
  -sEXPORTED_FUNCTIONS='["_malloc","_free"]' \
  -sALLOW_MEMORY_GROWTH=1 \
  -sINITIAL_MEMORY=4MB \
  -sMAXIMUM_MEMORY=512MB \
  -sTOTAL_STACK=1MB \
  -Wl,--stack-first \
  -sFILESYSTEM=0 \
  -o "$BUILD_DIR/av1.wasm"

cp "$BUILD_DIR/av1.wasm" "$OUT"
cp "$SRC_DIR/COPYING" "$HERE/LICENSE.dav1d"
echo "wrote $OUT ($(stat -c %s "$OUT") bytes)"
