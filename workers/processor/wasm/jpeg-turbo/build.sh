#!/usr/bin/env bash
# Rebuilds jpeg-turbo.wasm from Debian bookworm's libjpeg-turbo source + decode.c.
# The .wasm is committed: only run this to change the wrapper or the library.
#
# Needs root (apt) on Debian bookworm. Scratch lives outside the repo:
#   BUILD_DIR=/tmp/jpeg-turbo-build (override with the env var).
# Usage: bash workers/processor/wasm/jpeg-turbo/build.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD_DIR="${BUILD_DIR:-/tmp/jpeg-turbo-build}"
PKG_VERSION="1:2.1.5-2" # Debian bookworm's libjpeg-turbo
SRC_DIR="$BUILD_DIR/libjpeg-turbo-2.1.5"
OUT="$HERE/jpeg-turbo.wasm"

# --- toolchain: Debian's emscripten 3.1.6 (+ cmake, dpkg-dev for apt-get source) ---------
if ! command -v emcc >/dev/null || ! command -v cmake >/dev/null || ! command -v dpkg-source >/dev/null; then
  if ! grep -rqs '^Types: deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
    cat >/etc/apt/sources.list.d/bookworm-src.sources <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq emscripten cmake dpkg-dev
fi
# emscripten 3.1.6 as packaged needs acorn etc. from Debian's node modules.
export NODE_PATH=/usr/share/nodejs

# --- source -------------------------------------------------------------------------------
mkdir -p "$BUILD_DIR"
if [ ! -d "$SRC_DIR" ]; then
  if ! grep -rqs '^Types: deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
    cat >/etc/apt/sources.list.d/bookworm-src.sources <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    apt-get update -qq
  fi
  (cd "$BUILD_DIR" && apt-get source -qq "libjpeg-turbo=$PKG_VERSION")
fi

# --- static libjpeg (8-bit, no SIMD, no TurboJPEG API) -----------------------------------
LIB_BUILD="$BUILD_DIR/cmake"
rm -rf "$LIB_BUILD"
mkdir -p "$LIB_BUILD"
(
  cd "$LIB_BUILD"
  emcmake cmake "$SRC_DIR" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS="-O3 -msimd128 -DNO_GETENV -DNO_PUTENV" \
    -DENABLE_SHARED=OFF -DENABLE_STATIC=ON \
    -DWITH_SIMD=OFF -DWITH_TURBOJPEG=OFF -DWITH_JAVA=OFF \
    -DWITH_ARITH_DEC=ON -DWITH_ARITH_ENC=OFF \
    >cmake.log
  # CMake's type-size probe gets size_t wrong under emscripten 3.1.6: wasm32 has 4.
  sed -i 's/^#define SIZEOF_SIZE_T .*/#define SIZEOF_SIZE_T  4/' jconfigint.h
  grep -q '^#define SIZEOF_SIZE_T  4$' jconfigint.h
  emmake make -j"$(nproc)" jpeg-static >make.log
)

# --- wrapper + link -----------------------------------------------------------------------
EXPORTS='["_malloc","_free"]'
emcc -O3 -msimd128 \
  -I"$SRC_DIR" -I"$LIB_BUILD" \
  "$HERE/decode.c" "$LIB_BUILD/libjpeg.a" \
  --no-entry \
  -sSTANDALONE_WASM=1 \
  -sEXPORTED_FUNCTIONS="$EXPORTS" \
  -sALLOW_MEMORY_GROWTH=1 \
  -sINITIAL_MEMORY=2MB \
  -sMAXIMUM_MEMORY=256MB \
  -sTOTAL_STACK=256KB \
  -sFILESYSTEM=0 \
  -sSUPPORT_LONGJMP=1 \
  -o "$BUILD_DIR/jpeg-turbo.wasm"

cp "$BUILD_DIR/jpeg-turbo.wasm" "$OUT"
echo "wrote $OUT ($(stat -c %s "$OUT") bytes)"
