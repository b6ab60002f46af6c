import { describe, expect, it } from "vitest";
import { decodePng, decodePngFit, decodePngRows, PngError } from "../src/codecs/png-stream";
import { ImageError } from "../src/image/errors";
import { DEFAULT_BUDGET, estimateBytes, processImage } from "../src/image/pipeline";
import { probe } from "../src/image/probe";
import { downscale, fitLongEdge } from "../src/image/resize";
import type { Rgba } from "../src/image/rgba";
import { RowResizer } from "../src/image/row-resize";
import { fixture } from "./fixtures";
import { decodePngReference } from "./jsquash-png";
import { assemble, buildPng, chunk, deflate, type PngSpec, rawImageData } from "./png-build";

/** Index and values of the first byte where two images differ, or null. */
function firstDifference(a: Rgba, b: Rgba): string | null {
  if (a.width !== b.width || a.height !== b.height)
    return `size ${a.width}x${a.height} vs ${b.width}x${b.height}`;
  for (let i = 0; i < a.data.length; i++) {
    if (a.data[i] !== b.data[i]) return `byte ${i}: ${a.data[i]} vs ${b.data[i]}`;
  }
  return null;
}

async function pngErrorOf(p: Promise<unknown>): Promise<PngError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PngError);
  return err as PngError;
}

describe("the streaming PNG decoder", () => {
  it.each(["16-bit-grey-alpha.png", "Flag_of_the_Netherlands-16bit.png", "blackbug.png"])(
    "decodes %s to exactly the pixels @jsquash/png gives",
    async (name) => {
      const bytes = fixture(name);
      expect(firstDifference(await decodePng(bytes), await decodePngReference(bytes))).toBeNull();
    },
  );

  // Every colour type at every bit depth the format allows, interlaced or not, with
  // every filter, palettes short of the indices used, and tRNS alpha and colour keys.
  const combos = [
    [0, 1],
    [0, 2],
    [0, 4],
    [0, 8],
    [0, 16],
    [2, 8],
    [2, 16],
    [3, 1],
    [3, 2],
    [3, 4],
    [3, 8],
    [4, 8],
    [4, 16],
    [6, 8],
    [6, 16],
  ] as const;
  it("decodes every colour type, bit depth, filter and interlace exactly like @jsquash/png", async () => {
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 8;
    };
    let checked = 0;
    for (const [colorType, bitDepth] of combos) {
      for (const interlaced of [false, true]) {
        for (const transparency of [false, true]) {
          if (transparency && (colorType === 4 || colorType === 6)) continue;
          const width = 1 + (rnd() % 21);
          const height = 1 + (rnd() % 17);
          const max = (1 << bitDepth) - 1;
          const sample = (x: number, y: number, c: number) =>
            colorType === 3
              ? (x * 3 + y * 5) % (max + 1)
              : (x * 7919 + y * 104729 + c * 13 + (x ^ y) * 31) % (max + 1);
          const palette =
            colorType === 3
              ? Array.from(
                  // One entry short of the largest index at low depths: out-of-range indices.
                  { length: Math.min(256, max + 1) - (max < 255 ? 1 : 0) },
                  () => [rnd() & 255, rnd() & 255, rnd() & 255] as [number, number, number],
                )
              : undefined;
          let trns: Uint8Array | undefined;
          if (transparency) {
            const key = [0, 1, 2].map((c) => sample(2 % width, 1 % height, c));
            if (colorType === 0) trns = new Uint8Array([(key[0] ?? 0) >> 8, (key[0] ?? 0) & 255]);
            if (colorType === 2) trns = new Uint8Array(key.flatMap((k) => [k >> 8, k & 255]));
            if (colorType === 3) trns = new Uint8Array([0, 128, 255, 7].slice(0, max + 1));
          }
          for (const filter of interlaced
            ? (["cycle"] as const)
            : ([0, 1, 2, 3, 4, "cycle"] as const)) {
            const spec: PngSpec = {
              ...{ width, height, colorType, bitDepth, interlaced, filter, sample },
              ...{ palette, trns, idatSize: 1 + (rnd() % 40) },
            };
            const bytes = await buildPng(spec);
            const diff = firstDifference(await decodePng(bytes), await decodePngReference(bytes));
            expect(
              diff,
              JSON.stringify({ colorType, bitDepth, interlaced, filter, trns }),
            ).toBeNull();
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it("reduces 16-bit samples to their high byte, matching a tRNS key at full depth", async () => {
    // 0x12ff would round to 0x13; the high byte is 0x12, as @jsquash/png (the png crate) has it.
    const values = [0x12ff, 0x1200, 0xffff, 0x0080];
    const bytes = await buildPng({
      ...{ width: 4, height: 1, colorType: 0, bitDepth: 16 },
      sample: (x) => values[x] ?? 0,
      trns: new Uint8Array([0x12, 0x00]),
    });
    const img = await decodePng(bytes);
    expect(Array.from(img.data)).toEqual([
      ...[0x12, 0x12, 0x12, 255],
      ...[0x12, 0x12, 0x12, 0],
      ...[0xff, 0xff, 0xff, 255],
      ...[0x00, 0x00, 0x00, 255],
    ]);
    expect(firstDifference(img, await decodePngReference(bytes))).toBeNull();
  });

  it("decodes straight to the preview size, exactly as a full decode plus downscale, holding only rows besides the output", async () => {
    const bytes = fixture("blackbug.png");
    const full = await decodePngReference(bytes);
    const got = await decodePngFit(bytes, (w, h) => fitLongEdge(w, h, 1440));
    expect(firstDifference(got.value, downscale(full, 1440))).toBeNull();
    // The 1440x1080 output (6.2 MB) plus a few rows; the full image is 12.6 MB.
    expect(got.peakBytes).toBeLessThan(got.value.data.byteLength + 512 * 1024);
  });

  it("hands rows over in order, each once, even interlaced", async () => {
    for (const interlaced of [false, true]) {
      const bytes = await buildPng({
        ...{ width: 9, height: 11, colorType: 2, bitDepth: 8, interlaced, filter: "cycle" },
        sample: (x, y, c) => (c === 0 ? x : c === 1 ? y : 7),
      });
      const seen: number[] = [];
      await decodePngRows(bytes, () => (row, y) => {
        seen.push(y);
        // Row y's green channel is y everywhere, its red x.
        expect(row[1]).toBe(y);
        expect(row[32]).toBe(8);
      });
      expect(seen).toEqual(Array.from({ length: 11 }, (_, i) => i));
    }
  });

  it("decodes an Adam7 PNG one pixel wide or high", async () => {
    for (const [width, height] of [
      [1, 1],
      [1, 9],
      [9, 1],
      [2, 2],
    ] as const) {
      const bytes = await buildPng({
        ...{ width, height, colorType: 6, bitDepth: 8, interlaced: true },
        sample: (x, y, c) => (x * 31 + y * 17 + c * 5) & 255,
      });
      expect(firstDifference(await decodePng(bytes), await decodePngReference(bytes))).toBeNull();
    }
  });
});

describe("damaged PNGs", () => {
  const spec: PngSpec = {
    ...{ width: 40, height: 30, colorType: 2, bitDepth: 8, filter: "cycle" },
    sample: (x, y, c) => (x * 5 + y * 3 + c * 50) & 255,
  };

  it("refuses a file cut off in the middle, naming the chunk", async () => {
    const bytes = await buildPng(spec);
    const err = await pngErrorOf(decodePng(bytes.subarray(0, bytes.length - 40)));
    expect(err.message).toMatch(/truncated/);
  });

  it("fails a truncated PNG as corrupt in the pipeline", async () => {
    const bytes = fixture("blackbug.png");
    const err = await processImage(bytes.subarray(0, bytes.length >> 1)).catch((e) => e);
    expect(err).toBeInstanceOf(ImageError);
    expect(err).toMatchObject({ code: "corrupt" });
    expect(String(err.message)).toMatch(/PNG cannot be decoded/);
  });

  it("refuses image data that ends rows too soon", async () => {
    const raw = rawImageData(spec);
    const short = assemble(spec, await deflate(raw.subarray(0, raw.length - 121 * 3)));
    const err = await pngErrorOf(decodePng(short));
    expect(err.message).toMatch(/ends after 27 of 30 rows/);
  });

  it("refuses an unknown filter type", async () => {
    const raw = rawImageData(spec);
    raw[121 * 5] = 9; // row 5's filter byte
    const err = await pngErrorOf(decodePng(assemble(spec, await deflate(raw))));
    expect(err.message).toMatch(/bad filter type 9 on row 5/);
  });

  it("refuses image data that is not zlib", async () => {
    const raw = rawImageData(spec);
    const compressed = await deflate(raw);
    compressed[0] = 0x12; // a zlib header that is not one
    const err = await pngErrorOf(decodePng(assemble(spec, compressed)));
    expect(err.message).toMatch(/bad compressed image data/);
    const garbled = await deflate(raw);
    for (let i = 10; i < 30; i++) garbled[i] = 0xff;
    await pngErrorOf(decodePng(assemble(spec, garbled)));
  });

  it("refuses a PNG without image data, without a header, or with an unknown critical chunk", async () => {
    const good = await buildPng(spec);
    // Signature + IHDR (8 + 25 bytes), then IEND.
    const noIdat = new Uint8Array([...good.subarray(0, 33), ...chunk("IEND", new Uint8Array(0))]);
    expect((await pngErrorOf(decodePng(noIdat))).message).toMatch(/IDAT missing/);
    const noHeader = new Uint8Array([...good.subarray(0, 8), ...good.subarray(33)]);
    expect((await pngErrorOf(decodePng(noHeader))).message).toMatch(/first chunk is not IHDR/);
    const critical = await buildPng({ ...spec, extra: [["ABCD", new Uint8Array(3)]] });
    expect((await pngErrorOf(decodePng(critical))).message).toMatch(/unknown critical chunk/);
    const ancillary = await buildPng({ ...spec, extra: [["abCD", new Uint8Array(3)]] });
    expect((await decodePng(ancillary)).width).toBe(40);
    const notPng = good.slice();
    notPng[1] = 0;
    expect((await pngErrorOf(decodePng(notPng))).message).toMatch(/signature/);
  });
});

describe("PNGs in the pipeline", () => {
  it("keeps the colour of transparent pixels in a PNG small enough not to resize", async () => {
    // Identity sizes copy rows through: alpha-0 pixels keep their colour, like a full decode.
    const bytes = await buildPng({
      ...{ width: 3, height: 2, colorType: 6, bitDepth: 8 },
      sample: (x, _y, c) => (c === 3 ? (x === 0 ? 0 : 255) : 200),
    });
    const got = await decodePngFit(bytes, (w, h) => fitLongEdge(w, h, 1440));
    expect(Array.from(got.value.data.subarray(0, 4))).toEqual([200, 200, 200, 0]);
  });

  it("budgets an interlaced PNG for the half image it keeps, and stays within it", async () => {
    const spec: PngSpec = {
      ...{ width: 1800, height: 1200, colorType: 6, bitDepth: 8, interlaced: true },
      sample: (x, y, c) => (c === 3 ? 255 - ((x + y) & 127) : (x * (c + 1) + y) & 255),
    };
    const bytes = await buildPng(spec);
    const r = await processImage(bytes, {
      budget: { maxPixels: 100_000_000, memoryBytes: 1024 * 1024 * 1024 },
    });
    expect([r.preview.width, r.preview.height]).toEqual([1440, 960]);
    expect(r.peakBytes).toBeLessThanOrEqual(r.estimatedBytes);
    // The decode itself holds the even rows (600 of 1800x4 bytes), which a plain one does not.
    const fit = (w: number, h: number) => fitLongEdge(w, h, 1440);
    const interlaced = await decodePngFit(bytes, fit);
    const plain = await decodePngFit(await buildPng({ ...spec, interlaced: false }), fit);
    expect(firstDifference(interlaced.value, plain.value)).toBeNull();
    expect(interlaced.peakBytes).toBeGreaterThan(600 * 1800 * 4);
    expect(plain.peakBytes).toBeLessThan(interlaced.peakBytes - 600 * 1800 * 4 + 1024 * 1024);
    // Three 2 MP PNG decodes in JS: a few seconds on a loaded two-core machine.
  }, 120_000);

  it("estimates a 12 MP RGB PNG within the budget now that it streams", () => {
    const header = new Uint8Array(64);
    header.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
    header.set([0x49, 0x48, 0x44, 0x52], 12);
    new DataView(header.buffer).setUint32(16, 4000);
    new DataView(header.buffer).setUint32(20, 3000);
    header.set([8, 2, 0, 0, 0], 24);
    // Input, preview and the WebP encoder: no 48 MB RGBA image (the old estimate, input x2
    // + RGBA x6, was over 300 MB), so it is processed here instead of being sent away.
    const estimate = estimateBytes(probe(header), 20 * 1024 * 1024);
    expect(estimate).toBeLessThan(DEFAULT_BUDGET.memoryBytes);
  });
});

/**
 * The resizer as it was written before RowResizer (two horizontal rows cached, a
 * full pass per output row): the reference RowResizer must match bit for bit.
 */
function referenceDownscale(img: Rgba, ow: number, oh: number): Rgba {
  const taps = (src: number, dst: number) => {
    const ratio = src / dst;
    const maxTaps = Math.ceil(ratio) + 1;
    const start = new Int32Array(dst);
    const count = new Int32Array(dst);
    const weights = new Float32Array(dst * maxTaps);
    for (let i = 0; i < dst; i++) {
      const a = i * ratio;
      const b = a + ratio;
      const first = Math.floor(a);
      const last = Math.min(src - 1, Math.ceil(b) - 1);
      start[i] = first;
      count[i] = last - first + 1;
      for (let s = first; s <= last; s++) {
        weights[i * maxTaps + (s - first)] = (Math.min(b, s + 1) - Math.max(a, s)) / ratio;
      }
    }
    return { start, count, weights, maxTaps };
  };
  const { width: w, height: h, data } = img;
  const tx = taps(w, ow);
  const ty = taps(h, oh);
  const rowAt = (y: number): Float32Array => {
    const out = new Float32Array(ow * 4);
    for (let x = 0; x < ow; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let k = 0; k < (tx.count[x] ?? 0); k++) {
        const p = (y * w + (tx.start[x] ?? 0) + k) * 4;
        const alpha = (data[p + 3] ?? 0) * (tx.weights[x * tx.maxTaps + k] ?? 0);
        r += (data[p] ?? 0) * alpha;
        g += (data[p + 1] ?? 0) * alpha;
        b += (data[p + 2] ?? 0) * alpha;
        a += alpha;
      }
      out.set([r, g, b, a], x * 4);
    }
    return out;
  };
  const out = new Uint8ClampedArray(ow * oh * 4);
  const acc = new Float32Array(ow * 4);
  for (let y = 0; y < oh; y++) {
    acc.fill(0);
    for (let k = 0; k < (ty.count[y] ?? 0); k++) {
      const wgt = ty.weights[y * ty.maxTaps + k] ?? 0;
      const src = rowAt((ty.start[y] ?? 0) + k);
      for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] ?? 0) + (src[i] ?? 0) * wgt;
    }
    for (let x = 0; x < ow; x++) {
      const m = x * 4;
      const a = acc[m + 3] ?? 0;
      if (a > 0) {
        out[y * ow * 4 + m] = (acc[m] ?? 0) / a;
        out[y * ow * 4 + m + 1] = (acc[m + 1] ?? 0) / a;
        out[y * ow * 4 + m + 2] = (acc[m + 2] ?? 0) / a;
      }
      out[y * ow * 4 + m + 3] = a;
    }
  }
  return { width: ow, height: oh, data: out };
}

describe("the row-streaming resizer", () => {
  it("gives bit for bit what the two-pass area average gives, opaque or not", () => {
    let seed = 3;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 16;
    };
    for (let t = 0; t < 60; t++) {
      const w = 1 + (rnd() % 90);
      const h = 1 + (rnd() % 90);
      const data = new Uint8ClampedArray(w * h * 4);
      for (let i = 0; i < data.length; i++) data[i] = rnd();
      if (t % 3 === 0) for (let i = 3; i < data.length; i += 4) data[i] = 255;
      if (t % 3 === 1) for (let i = 3; i < data.length; i += 4) data[i] = rnd() & 1 ? 255 : 0;
      const img = { width: w, height: h, data };
      for (const [ow, oh] of [
        [1, 1],
        [Math.max(1, w >> 1), Math.max(1, h >> 1)],
        [Math.max(1, Math.round(w / 1.37)), Math.max(1, Math.round(h / 2.71))],
        [w, Math.max(1, h - 1)],
      ] as const) {
        const r = new RowResizer(w, h, ow, oh);
        // Rows from an unaligned buffer take the copying path.
        const shifted = new Uint8Array(data.length + 1);
        shifted.set(data, 1);
        for (let y = 0; y < h; y++) {
          const src = t % 2 ? shifted.subarray(1 + y * w * 4) : data.subarray(y * w * 4);
          r.push(src.subarray(0, w * 4));
        }
        const diff = firstDifference(r.finish(), referenceDownscale(img, ow, oh));
        expect(diff, `${w}x${h} to ${ow}x${oh}`).toBeNull();
      }
    }
  });

  it("refuses to upscale, and to finish before every row came", () => {
    expect(() => new RowResizer(10, 10, 11, 10)).toThrow(/upscale/);
    const r = new RowResizer(4, 4, 2, 2);
    r.push(new Uint8Array(16));
    expect(() => r.finish()).toThrow(/got 1 of 4 rows/);
  });
});
