#!/usr/bin/python3
"""Pixel-compare the WASM decoder with Debian's djpeg (YCbCr/grey) or Pillow (CMYK/YCCK).

usage: /usr/bin/python3 compare.py FILE.jpg DENOM
Needs libjpeg-turbo-progs, python3-pil, python3-numpy (Debian packages).
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
NODE = os.path.join(HERE, "../../../../../node_modules/.bin/node")
path, denom = sys.argv[1], sys.argv[2]
tmp = tempfile.mkdtemp()
raw = os.path.join(tmp, "out.rgba")
w, h = map(int, subprocess.check_output([NODE, os.path.join(HERE, "dump.ts"), path, denom, raw]).split())
ours = np.fromfile(raw, np.uint8).reshape(h, w, 4)[:, :, :3].astype(int)
im = Image.open(path)
if im.mode == "CMYK":  # djpeg cannot write RGB for CMYK; Pillow's naive CMYK->RGB is the reference
    im.draft("CMYK", (im.width // int(denom), im.height // int(denom)))
    ref, src = np.asarray(im.convert("RGB")).astype(int), "Pillow"
else:
    ppm = os.path.join(tmp, "ref.ppm")
    subprocess.check_call(f"djpeg -dct int -scale 1/{denom} -ppm '{path}' > '{ppm}'", shell=True)
    ref, src = np.asarray(Image.open(ppm).convert("RGB")).astype(int), "djpeg"
assert ref.shape == ours.shape, (ref.shape, ours.shape)
d = np.abs(ref - ours)
print(f"{os.path.basename(path)} 1/{denom} {w}x{h} vs {src}: max |diff| {d.max()}, mean {d.mean():.4f}")
