import { describe, expect, it } from "vitest";
import { decodeWebp, encodeWebp } from "../src/codecs/webp";
import { readMetadata } from "../src/image/metadata";
import { orient } from "../src/image/orient";
import { downscale } from "../src/image/resize";
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
