import { describe, expect, it } from "vitest";
import { createJpegDecoder, JpegDecodeError } from "../src/codecs/jpeg-turbo";
import { decodeWebp, encodeWebp } from "../src/codecs/webp";
import { readMetadata } from "../src/image/metadata";
import { orient } from "../src/image/orient";
import { downscale, fitLongEdge } from "../src/image/resize";
import jpegWasm from "../wasm/jpeg-turbo/jpeg-turbo.wasm";
import { fixture } from "./fixtures";

describe("codecs in workerd", () => {
  it("decodes a WebP with alpha and encodes a WebP that decodes back to the same size", async () => {
    const dec = await decodeWebp(fixture("5_webp_a.webp"));
    expect(dec.value?.width).toBe(300);
    expect(dec.value?.height).toBe(300);
    if (!dec.value) throw new Error("no image");
    const enc = await encodeWebp(dec.value, 80);
    expect(enc.value.byteLength).toBeGreaterThan(100);
    const back = await decodeWebp(enc.value);
    expect(back.value?.width).toBe(300);
    expect(enc.wasmBytes).toBeGreaterThan(0);
  });

  it("reads orientation, capture time and camera from EXIF", async () => {
    expect(await readMetadata(fixture("Landscape_6.jpg"))).toMatchObject({ orientation: 6 });
    expect(await readMetadata(fixture("Channel_digital_image_CMYK_color.jpg"))).toEqual({
      orientation: 1,
      takenAt: Date.UTC(2004, 2, 20, 14, 54, 55),
      make: "Canon",
      model: "Canon EOS 300D DIGITAL",
    });
    expect(await readMetadata(fixture("corrupt-header.jpg"))).toMatchObject({ orientation: 1 });
  });
});

describe("pixels", () => {
  const img = (
    w: number,
    h: number,
    f: (x: number, y: number) => [number, number, number, number],
  ) => {
    const data = new Uint8ClampedArray(w * h * 4);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(f(x, y), (y * w + x) * 4);
    return { width: w, height: h, data };
  };
  const px = (i: { width: number; data: Uint8ClampedArray }, x: number, y: number) =>
    Array.from(i.data.subarray((y * i.width + x) * 4, (y * i.width + x) * 4 + 4));

  it("rotates orientation 6 clockwise: the top-left corner goes top-right", () => {
    const src = img(3, 2, (x, y) => (x === 0 && y === 0 ? [255, 0, 0, 255] : [0, 0, 0, 255]));
    const out = orient(src, 6);
    expect([out.width, out.height]).toEqual([2, 3]);
    expect(px(out, 1, 0)).toEqual([255, 0, 0, 255]);
  });

  it("averages areas exactly when halving and never upscales", () => {
    const src = img(4, 2, (x) => (x % 2 === 0 ? [200, 100, 0, 255] : [0, 100, 200, 255]));
    const out = downscale(src, 2);
    expect([out.width, out.height]).toEqual([2, 1]);
    expect(px(out, 0, 0)).toEqual([100, 100, 100, 255]);
    expect(downscale(src, 100)).toBe(src);
  });

  it("does not bleed the colour of transparent pixels into opaque ones", () => {
    const src = img(2, 1, (x) => (x === 0 ? [255, 255, 255, 255] : [0, 0, 0, 0]));
    const out = downscale(src, 1);
    expect(px(out, 0, 0)).toEqual([255, 255, 255, 128]);
  });
});

describe("decoding a JPEG straight to the preview size", () => {
  const meanAbsDiff = (a: Uint8ClampedArray, b: Uint8ClampedArray) => {
    expect(a.length).toBe(b.length);
    let sum = 0;
    for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] ?? 0) - (b[i] ?? 0));
    return sum / a.length;
  };

  it("scales by n/8 and resamples rows as they arrive, close to a full decode plus downscale", () => {
    const bytes = fixture("2569067123_aca715a2ee_o.jpg");
    const full = createJpegDecoder(jpegWasm).decode(bytes, 1);
    const want = downscale(full, 1440);
    const fit = fitLongEdge(full.width, full.height, 1440);
    const decoder = createJpegDecoder(jpegWasm);
    const got = decoder.decodeFit(bytes, fit.width, fit.height);
    expect([got.width, got.height]).toEqual([want.width, want.height]);
    expect(got.scaleNum).toBe(5); // 2725 * 5/8 = 1704 covers 1440; 4/8 = 1363 would not
    // Not bit-identical: libjpeg's reduced-size IDCT is a different (and valid) filter.
    expect(meanAbsDiff(got.data, want.data)).toBeLessThan(2);
    expect(got.data.filter((_, i) => i % 4 === 3 && got.data[i] !== 255).length).toBe(0);
    // The full-size image never existed in the instance: its memory stays well below it.
    expect(decoder.memoryBytes()).toBeLessThan(full.data.byteLength / 2);
  });

  it.each([
    ["Channel_digital_image_CMYK_color.jpg", 2],
    ["Landscape_1.jpg", 2],
    ["Landscape_1.jpg", 1],
  ] as const)("decodes %s at 1/%i exactly like libjpeg's own scaled decode", (name, denom) => {
    const bytes = fixture(name);
    const want = createJpegDecoder(jpegWasm).decode(bytes, denom);
    const got = createJpegDecoder(jpegWasm).decodeFit(bytes, want.width, want.height);
    expect(got.scaleNum).toBe(8 / denom);
    expect(meanAbsDiff(got.data, want.data)).toBe(0);
  });

  it("refuses to upscale and reports damaged data as corrupt", () => {
    const bytes = fixture("2569067123_aca715a2ee_o.jpg");
    const decoder = createJpegDecoder(jpegWasm);
    expect(() => decoder.decodeFit(bytes, 3000, 2000)).toThrow(
      expect.objectContaining({ code: "bad-argument" }),
    );
    const truncated = bytes.slice(0, bytes.length >> 1);
    const err = (() => {
      try {
        decoder.decodeFit(truncated, 1440, 1176);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(JpegDecodeError);
    expect(err).toMatchObject({ code: "corrupt" });
    // The instance survives a libjpeg error and decodes the next image.
    expect(decoder.decodeFit(bytes, 720, 588).width).toBe(720);
  });
});
