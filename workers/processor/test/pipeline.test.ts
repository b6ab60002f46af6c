import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { decodeWebp } from "../src/codecs/webp";
import { ImageError } from "../src/image/errors";
import {
  IMAGES_MAX_ANIMATION_PIXELS,
  IMAGES_MAX_EDGE,
  IMAGES_MAX_FILE_BYTES,
  imagesRefusal,
} from "../src/image/images-input";
import { orient } from "../src/image/orient";
import { planImage, processImage } from "../src/image/pipeline";
import type { Probe } from "../src/image/probe";
import { fixture } from "./fixtures";

async function expectImageError(p: Promise<unknown>, code: string) {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImageError);
  expect(err instanceof ImageError && err.code).toBe(code);
  return err instanceof ImageError ? err : null;
}

/** Mean colour of a square region of RGBA pixels. */
function mean(
  img: { width: number; data: Uint8ClampedArray },
  x0: number,
  y0: number,
  size: number,
) {
  const sum = [0, 0, 0];
  for (let y = y0; y < y0 + size; y++) {
    for (let x = x0; x < x0 + size; x++) {
      const i = (y * img.width + x) * 4;
      for (let c = 0; c < 3; c++) sum[c] = (sum[c] ?? 0) + (img.data[i + c] ?? 0);
    }
  }
  return sum.map((s) => s / (size * size));
}

describe("processImage on the fixtures", () => {
  it("makes upright 320 and 1440-bounded WebP variants of a real photo", async () => {
    const r = await processImage(fixture("2569067123_aca715a2ee_o.jpg"));
    expect([r.width, r.height]).toEqual([2725, 2225]);
    expect([r.preview.width, r.preview.height]).toEqual([1440, 1176]);
    expect([r.thumb.width, r.thumb.height]).toEqual([320, 261]);
    const back = await decodeWebp(r.preview.bytes);
    expect(back.value?.width).toBe(1440);
    expect(r.peakBytes).toBeGreaterThan(0);
    expect(r.peakBytes).toBeLessThan(100 * 1024 * 1024);
  });

  for (let o = 1; o <= 8; o++) {
    it(`turns Landscape_${o}.jpg (EXIF orientation ${o}) upright`, async () => {
      const r = await processImage(fixture(`Landscape_${o}.jpg`));
      expect(r.metadata.orientation).toBe(o);
      expect([r.width, r.height]).toEqual([600, 450]);
      // Never upscaled: the preview is the original size.
      expect([r.preview.width, r.preview.height]).toEqual([600, 450]);
      const img = (await decodeWebp(r.preview.bytes)).value;
      if (!img) throw new Error("no preview");
      // Checked by pixel content against Landscape_1 (already upright).
      const ref = (await decodeWebp((await processImage(fixture("Landscape_1.jpg"))).preview.bytes))
        .value;
      if (!ref) throw new Error("no reference");
      // Corners only: the middle of each example carries its own digit.
      const corners = [
        [20, 20],
        [520, 20],
        [20, 370],
        [520, 370],
      ] as const;
      const distance = (a: typeof img, b: typeof img) =>
        Math.max(
          ...corners.flatMap(([x, y]) => {
            const ma = mean(a, x, y, 60);
            const mb = mean(b, x, y, 60);
            return [0, 1, 2].map((c) => Math.abs((ma[c] ?? 0) - (mb[c] ?? 0)));
          }),
        );
      // Measured: ~18 for the right orientation (Landscape_1 is encoded differently from
      // 2..8), 48 and more for a mirrored or rotated one.
      expect(distance(img, ref)).toBeLessThan(30);
      // The check tells orientations apart: the result mirrored or turned does not pass.
      for (const wrong of [2, 3, 4]) expect(distance(orient(img, wrong), ref)).toBeGreaterThan(40);
    });
  }

  it("keeps alpha through a WebP with transparency", async () => {
    const r = await processImage(fixture("5_webp_a.webp"));
    const img = (await decodeWebp(r.preview.bytes)).value;
    if (!img) throw new Error("no preview");
    const alphas = new Set<number>();
    for (let i = 3; i < img.data.length; i += 4) alphas.add(img.data[i] ?? 255);
    expect(Math.min(...alphas)).toBeLessThan(50);
  });

  it("keeps alpha of an RGBA PNG", async () => {
    const r = await processImage(fixture("blackbug.png"));
    expect([r.preview.width, r.preview.height]).toEqual([1440, 1080]);
  });

  it("reduces 16-bit PNGs to 8 bits", async () => {
    const flag = await processImage(fixture("Flag_of_the_Netherlands-16bit.png"));
    const img = (await decodeWebp(flag.preview.bytes)).value;
    if (!img) throw new Error("no preview");
    // Red, white, blue bands from top to bottom.
    const top = mean(img, 400, 20, 20);
    const bottom = mean(img, 400, 560, 20);
    expect(top[0]).toBeGreaterThan(150);
    expect(top[2]).toBeLessThan(100);
    expect(bottom[2]).toBeGreaterThan(100);
    await processImage(fixture("16-bit-grey-alpha.png"));
  });

  it("converts a CMYK JPEG to sensible RGB and reads its camera", async () => {
    const r = await processImage(fixture("Channel_digital_image_CMYK_color.jpg"));
    expect(r.metadata.make).toBe("Canon");
    const img = (await decodeWebp(r.preview.bytes)).value;
    if (!img) throw new Error("no preview");
    const m = mean(img, 0, 0, Math.min(img.width, 100));
    // Not the near-black or inverted garbage a naive CMYK decode gives.
    expect(m.reduce((a, b) => a + b, 0) / 3).toBeGreaterThan(40);
  });

  it("decodes a greyscale JPEG", async () => {
    const r = await processImage(fixture("concert.jpg"));
    expect([r.width, r.height]).toEqual([400, 267]);
  });

  it("makes variants of a GIF from its first frame", async () => {
    const r = await processImage(fixture("Crash_test.gif"));
    expect(r.format).toBe("gif");
    expect(r.thumb.width).toBeGreaterThan(0);
  });

  it("refuses an SVG as an unsupported format, never rendering it", async () => {
    await expectImageError(processImage(fixture("check.svg")), "unsupported_format");
  });

  it("refuses an animated WebP with a clear message", async () => {
    const err = await expectImageError(
      processImage(fixture("animated-loop-3.webp")),
      "unsupported_format",
    );
    expect(err?.message).toMatch(/Animated WebP/);
  });

  it("fails a truncated JPEG as corrupt", async () => {
    await expectImageError(processImage(fixture("corrupt-header.jpg")), "corrupt");
  });

  it("fails a JPEG cut off mid-scan as corrupt", async () => {
    const whole = fixture("2569067123_aca715a2ee_o.jpg");
    await expectImageError(
      processImage(whole.subarray(0, Math.floor(whole.length / 2))),
      "corrupt",
    );
  });
});

describe("limits", () => {
  function pngHeader(width: number, height: number, interlaced = false): Uint8Array {
    const b = new Uint8Array(64);
    b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    new DataView(b.buffer).setUint32(16, width);
    new DataView(b.buffer).setUint32(20, height);
    b.set([8, 6, 0, 0, interlaced ? 1 : 0], 24);
    return b;
  }

  it("refuses a 65536x65536 PNG bomb from its header, in milliseconds", async () => {
    const t = performance.now();
    const err = await expectImageError(processImage(pngHeader(65536, 65536)), "too_large");
    expect(err?.message).toMatch(/4295.0 MP; the limit is 100 MP/);
    expect(performance.now() - t).toBeLessThan(1000);
  });

  it("refuses an image over the memory budget without decoding it, naming the limit", async () => {
    // 60 MP interlaced RGBA PNG: under the pixel cap, but its decode keeps the even rows
    // (120 MB) until the last Adam7 pass, over a 100 MB budget. (A PNG that is not
    // interlaced streams row by row: its dimensions alone no longer put it over.)
    const err = await expectImageError(processImage(pngHeader(10000, 6000, true)), "too_large");
    expect(err?.message).toMatch(/needs about \d+ MB to process; the limit is 100 MB/);
  });
});

describe("the Images binding for what cannot fit", () => {
  it("sends an over-budget image to the Images binding and gets the same variants", async () => {
    const r = await processImage(fixture("blackbug.png"), {
      budget: { maxPixels: 100_000_000, memoryBytes: 4 * 1024 * 1024 },
      images: env.IMAGES,
    });
    expect(r.path).toBe("images");
    expect([r.width, r.height]).toEqual([2048, 1536]);
    expect([r.preview.width, r.preview.height]).toEqual([1440, 1080]);
    expect([r.thumb.width, r.thumb.height]).toEqual([320, 240]);
    expect((await decodeWebp(r.thumb.bytes)).value?.width).toBe(320);
  });
});

describe("what the Images binding is asked for: only what Cloudflare's accepts", () => {
  const probeOf = (p: Partial<Probe>): Probe => ({
    format: "jpeg",
    width: 4000,
    height: 3000,
    progressive: false,
    components: 3,
    bitDepth: 8,
    hasAlpha: false,
    ...p,
  });
  const MB = 2 ** 20;

  it("takes JPEG, PNG, GIF, WebP and HEIC, and refuses AVIF (an output format only)", () => {
    for (const format of ["jpeg", "png", "gif", "webp", "heic"] as const) {
      expect(imagesRefusal(probeOf({ format }), 10 * MB), format).toBeNull();
    }
    expect(imagesRefusal(probeOf({ format: "avif" }), 10 * MB)).toEqual({
      code: "unsupported_format",
      why: "Cloudflare Images does not take AVIF as a transformation input",
    });
  });

  it("refuses over 100 MP, over 12,000 px a side (WebP excepted), over 100 MB", () => {
    expect(imagesRefusal(probeOf({ width: 10_001, height: 10_000 }), MB)?.why).toContain("100 MP");
    expect(imagesRefusal(probeOf({ width: IMAGES_MAX_EDGE, height: 2000 }), MB)).toBeNull();
    expect(imagesRefusal(probeOf({ width: IMAGES_MAX_EDGE + 1, height: 2000 }), MB)?.why).toContain(
      "12,000 px per side",
    );
    expect(imagesRefusal(probeOf({ format: "webp", width: 14_000, height: 2000 }), MB)).toBeNull();
    expect(imagesRefusal(probeOf({}), IMAGES_MAX_FILE_BYTES)).toBeNull();
    expect(imagesRefusal(probeOf({}), IMAGES_MAX_FILE_BYTES + 1)?.why).toContain("100 MB");
  });

  it("refuses an animation Images would hand back untransformed (over 50 MP in its frames)", () => {
    const side = Math.ceil(Math.sqrt(IMAGES_MAX_ANIMATION_PIXELS / 2)) + 1;
    const big = { format: "gif" as const, width: side, height: side };
    expect(imagesRefusal(probeOf({ ...big, animated: true }), MB)?.code).toBe("too_large");
    expect(imagesRefusal(probeOf({ ...big, animated: false }), MB)).toBeNull();
  });

  it("plans an over-budget image Images would refuse as too_large, saying both reasons", () => {
    // 12,500 x 5,000 interlaced RGBA PNG: 62.5 MP, over a 100 MB budget, wider than 12,000 px.
    const b = new Uint8Array(64);
    b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    new DataView(b.buffer).setUint32(16, 12_500);
    new DataView(b.buffer).setUint32(20, 5_000);
    b.set([8, 6, 0, 0, 1], 24);
    expect(() => planImage(b, 40 * MB, { images: true })).toThrow(
      /needs about \d+ MB to process; the limit is 100 MB, and Cloudflare Images transforms at most 12,000 px per side/,
    );
    new DataView(b.buffer).setUint32(16, 12_000);
    expect(planImage(b, 40 * MB, { images: true }).path).toBe("images");
  });
});

describe("the Images binding path and EXIF orientation", () => {
  it("comes out upright too", async () => {
    const r = await processImage(fixture("Landscape_6.jpg"), {
      budget: { maxPixels: 100_000_000, memoryBytes: 1024 * 1024 },
      images: env.IMAGES,
    });
    expect(r.path).toBe("images");
    expect([r.preview.width, r.preview.height]).toEqual([600, 450]);
  });
});

describe("the budget estimate", () => {
  it("covers the measured peak of PNG, JPEG and WebP fixtures", async () => {
    for (const name of [
      "blackbug.png",
      "Flag_of_the_Netherlands-16bit.png",
      "16-bit-grey-alpha.png",
      "2569067123_aca715a2ee_o.jpg",
      "Landscape_6.jpg",
      "Channel_digital_image_CMYK_color.jpg",
      "5_webp_a.webp",
    ]) {
      const r = await processImage(fixture(name), {
        budget: { maxPixels: 100_000_000, memoryBytes: 1024 * 1024 * 1024 },
      });
      expect(r.peakBytes, name).toBeLessThanOrEqual(r.estimatedBytes);
    }
    // Seven photos: ~2 s alone, more on a loaded two-core machine.
  }, 120_000);
});
