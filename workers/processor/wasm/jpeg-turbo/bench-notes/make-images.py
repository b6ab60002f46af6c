#!/usr/bin/python3
"""Benchmark inputs (not committed): photo-like 12 MP / 24 MP JPEGs in $OUT (default /tmp/jt-bench).

Upscales the real photo fixture and adds mild noise so the entropy data is photo-sized.
Needs Debian's python3-pil + python3-numpy (apt-get install python3-pil python3-numpy).
"""
import os
import numpy as np
from PIL import Image

OUT = os.environ.get("OUT", "/tmp/jt-bench")
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../../../test/fixtures/images")
SRC = os.path.join(FIXTURES, "2569067123_aca715a2ee_o.jpg")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(1)
base = Image.open(SRC).convert("RGB")
for name, (w, h) in {"12mp": (4000, 3000), "24mp": (6000, 4000)}.items():
    a = np.asarray(base.resize((w, h), Image.BICUBIC), dtype=np.int16)
    a = np.clip(a + rng.normal(0, 8, size=a.shape).astype(np.int16), 0, 255).astype(np.uint8)
    im = Image.fromarray(a)
    im.save(f"{OUT}/{name}-baseline.jpg", quality=92, subsampling=2)  # 4:2:0
    im.save(f"{OUT}/{name}-progressive.jpg", quality=92, subsampling=2, progressive=True)
    data = open(f"{OUT}/{name}-baseline.jpg", "rb").read()
    open(f"{OUT}/{name}-truncated.jpg", "wb").write(data[: len(data) // 2])


def patch_size(src, dst, w, h):
    """Copy of src with its SOF dimensions rewritten: a decompression bomb."""
    b = bytearray(open(src, "rb").read())
    i = 2
    while i < len(b):
        m, n = b[i + 1], b[i + 2] << 8 | b[i + 3]
        if m in (0xC0, 0xC1, 0xC2):
            b[i + 5 : i + 9] = h.to_bytes(2, "big") + w.to_bytes(2, "big")
            break
        i += 2 + n
    open(dst, "wb").write(b)


patch_size(os.path.join(FIXTURES, "concert.jpg"), f"{OUT}/bomb-15k.jpg", 15000, 15000)
patch_size(f"{OUT}/12mp-progressive.jpg", f"{OUT}/bomb-prog-60k.jpg", 60000, 60000)
for f in sorted(os.listdir(OUT)):
    if f.endswith(".jpg"):
        print(f, os.path.getsize(f"{OUT}/{f}"))
