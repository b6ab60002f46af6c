#!/usr/bin/env bash
# Fetches the public test-image corpora `npm run corpus` is run over: the test images the
# image libraries themselves ship in their Debian source packages (bookworm), never
# hand-made lookalikes. Needs root (apt) on Debian bookworm and the network (Debian's
# mirror only). Scratch and result live outside git: CORPORA_DIR=.cache/corpora.
#
# Usage: bash scripts/fetch-corpora.sh        → prints the folders to give `npm run corpus`
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CORPORA_DIR="${CORPORA_DIR:-$ROOT/.cache/corpora}"
# The unpacked source trees, beside (not inside) the folder of corpora, so `.cache/corpora/*`
# names exactly the corpora.
SRC_DIR="${CORPORA_SRC_DIR:-$ROOT/.cache/corpora-src}"
# Source package names as `apt-cache showsrc` lists them on bookworm.
# kimageformats (KDE's Qt image plugins) ships the AVIF files libavif's own tests/data would
# give (rotated and mirrored, monochrome, alpha), beside their expected PNGs.
PACKAGES=(libpng1.6 libjpeg-turbo libwebp libavif libheif giflib kimageformats)

if ! grep -rqs '^Types: deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
  cat >/etc/apt/sources.list.d/bookworm-src.sources <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
apt-get update -qq
command -v dpkg-source >/dev/null || apt-get install -y -qq dpkg-dev >/dev/null

mkdir -p "$SRC_DIR" "$CORPORA_DIR"
for pkg in "${PACKAGES[@]}"; do
  # One unpacked tree per package: fetched once, kept across runs.
  if ! compgen -G "$SRC_DIR/$pkg-*/" >/dev/null && ! compgen -G "$SRC_DIR/${pkg%1.6}-*/" >/dev/null; then
    # A package the mirror cannot serve is reported and skipped: the others still count.
    (cd "$SRC_DIR" && apt-get source -qq "$pkg" >/dev/null 2>"$SRC_DIR/$pkg.log") ||
      echo "fetch-corpora: apt-get source $pkg failed: $(grep -m1 '^E:' "$SRC_DIR/$pkg.log")" >&2
  fi
done

# The test-image folders of each tree (symlinks, so the corpus names say where a file is from).
link() {
  local name="$1" pattern="$2"
  local dir
  dir="$(compgen -G "$SRC_DIR/$pattern" | head -n1 || true)"
  if [ -n "$dir" ] && [ -d "$dir" ]; then
    ln -sfn "$dir" "$CORPORA_DIR/$name"
    echo "$CORPORA_DIR/$name"
  else
    echo "fetch-corpora: no $pattern in $SRC_DIR" >&2
  fi
}
link pngsuite 'libpng1.6-*/contrib/pngsuite'
link libpng-testpngs 'libpng1.6-*/contrib/testpngs'
link libjpeg-turbo 'libjpeg-turbo-*/testimages'
# libwebp ships its few test images in examples/ and webp_js/: the tree holds no others.
link libwebp 'libwebp-*/'
link libavif 'libavif-*/tests/data'
link libheif-examples 'libheif-*/examples'
link libheif-fuzzing 'libheif-*/fuzzing/corpus'
link giflib-pic 'giflib-*/pic'
link giflib-tests 'giflib-*/tests'
link giflib-doc 'giflib-*/doc'
link kimageformats-avif 'kimageformats-*/autotests/read/avif'
link kimageformats-heif 'kimageformats-*/autotests/read/heif'
