import { env } from "cloudflare:workers";
import { NEAR_DUPLICATE_MAX_DISTANCE } from "@darkroom/shared";
import { describe, expect, it } from "vitest";
// The embedder's own pHash: what decides near-duplicates downstream of these thumbs.
import { hammingDistance, perceptualHash } from "../../embedder/src/phash";
import { decodeWebp } from "../src/codecs/webp";
import { ImageError } from "../src/image/errors";
import { DEFAULT_BUDGET, laneBytes, planImage, processImage } from "../src/image/pipeline";
import type { Rgba } from "../src/image/rgba";
import { fixture } from "./fixtures";

async function failure(p: Promise<unknown>): Promise<ImageError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof ImageError)) throw new Error(`expected an ImageError, got ${String(err)}`);
  return err;
}

async function preview(name: string): Promise<Rgba> {
  const r = await processImage(fixture(name));
  const img = (await decodeWebp(r.preview.bytes)).value;
  if (!img) throw new Error("no preview");
  return img;
}

/** Mean absolute difference per channel of two same-sized images (alpha ignored). */
function meanDiff(a: Rgba, b: Rgba): number {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  let sum = 0;
  for (let i = 0; i < a.data.length; i += 4)
    for (let c = 0; c < 3; c++) sum += Math.abs((a.data[i + c] ?? 0) - (b.data[i + c] ?? 0));
  return sum / ((a.data.length / 4) * 3);
}

function mirrored(img: Rgba): Rgba {
  const data = new Uint8ClampedArray(img.data.length);
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++) {
      const from = (y * img.width + x) * 4;
      data.set(img.data.subarray(from, from + 4), (y * img.width + img.width - 1 - x) * 4);
    }
  return { width: img.width, height: img.height, data };
}

/** Mean per-channel colour, and mean saturation (max - min channel). */
function stats(img: Rgba) {
  const sum = [0, 0, 0];
  let sat = 0;
  const n = img.data.length / 4;
  for (let i = 0; i < img.data.length; i += 4) {
    const px = [img.data[i] ?? 0, img.data[i + 1] ?? 0, img.data[i + 2] ?? 0];
    for (let c = 0; c < 3; c++) sum[c] = (sum[c] ?? 0) + (px[c] ?? 0);
    sat += Math.max(...px) - Math.min(...px);
  }
  return { mean: sum.map((s) => s / n), saturation: sat / n };
}

describe("HEIC in the pipeline", () => {
  it("decodes a single-image HEIC of a real photo to variants that look like the photo", async () => {
    const r = await processImage(fixture("photo.heic"));
    expect(r.format).toBe("heic");
    expect(r.path).toBe("wasm");
    expect([r.width, r.height]).toEqual([800, 652]);
    expect([r.thumb.width, r.thumb.height]).toEqual([320, 261]);
    const heic = (await decodeWebp(r.preview.bytes)).value;
    const jpeg = await preview("photo-export.jpg");
    if (!heic) throw new Error("no preview");
    // Same shot, two codecs: close (not equal).
    expect(meanDiff(heic, jpeg)).toBeLessThan(6);
    expect(r.peakBytes).toBeLessThanOrEqual(r.estimatedBytes);
  });

  it("makes a HEIC and the phone's JPEG export of the same shot near-duplicates (the embedder's pHash of the thumbs)", async () => {
    const thumbOf = async (name: string) => {
      const img = (await decodeWebp((await processImage(fixture(name))).thumb.bytes)).value;
      if (!img) throw new Error("no thumb");
      return perceptualHash(img);
    };
    const heic = await thumbOf("photo.heic");
    expect(hammingDistance(heic, await thumbOf("photo-export.jpg"))).toBeLessThanOrEqual(
      NEAR_DUPLICATE_MAX_DISTANCE,
    );
    expect(hammingDistance(heic, await thumbOf("orient-1.heic"))).toBeGreaterThan(
      NEAR_DUPLICATE_MAX_DISTANCE,
    );
  });

  it("reads capture time and camera from the HEIC's EXIF item", async () => {
    const r = await processImage(fixture("photo.heic"));
    expect(r.metadata).toEqual({
      orientation: 1,
      takenAt: Date.UTC(2021, 5, 5, 14, 3, 12) + new Date(2021, 5, 5).getTimezoneOffset() * 60_000,
      make: "Apple",
      model: "iPhone 13 mini",
    });
  });

  for (let o = 1; o <= 8; o++) {
    it(`applies irot/imir once (orientation ${o}), never the EXIF tag on top`, async () => {
      const r = await processImage(fixture(`orient-${o}.heic`));
      expect(r.metadata.orientation).toBe(o);
      expect([r.width, r.height]).toEqual([240, 180]);
      const img = (await decodeWebp(r.preview.bytes)).value;
      const ref = await preview("orient-1.heic");
      if (!img) throw new Error("no preview");
      expect([img.width, img.height]).toEqual([240, 180]);
      // Separately encoded copies differ by ~5; a wrong turn or mirror by far more.
      expect(meanDiff(img, ref)).toBeLessThan(9);
      expect(meanDiff(ref, mirrored(ref))).toBeGreaterThan(20);
    });
  }

  it("decodes a 512x512-tiled grid tile by tile, crops the overhang and rotates it upright", async () => {
    const r = await processImage(fixture("grid.heic"));
    // 1100x700 stored, irot 3 (90° clockwise): shown 700x1100.
    expect([r.width, r.height]).toEqual([700, 1100]);
    expect(r.metadata).toMatchObject({ orientation: 6, make: "Apple" });
    const thumb = (await decodeWebp(r.thumb.bytes)).value;
    if (!thumb) throw new Error("no thumb");
    expect([thumb.width, thumb.height]).toEqual([204, 320]);
    // Against the same picture resized from the source photo (tiles re-encoded at q30).
    const ref = await processImage(fixture("grid-upright.jpg"));
    const refImg = (await decodeWebp(ref.preview.bytes)).value;
    const mine = (await decodeWebp(r.preview.bytes)).value;
    if (!refImg || !mine) throw new Error("no image");
    const small = (await decodeWebp((await processImage(fixture("grid.heic"))).thumb.bytes)).value;
    if (!small) throw new Error("no thumb");
    // 240-wide reference vs the 204x320 thumb: compare means of the whole picture.
    const a = stats(refImg).mean;
    const b = stats(mine).mean;
    for (let c = 0; c < 3; c++) expect(Math.abs((a[c] ?? 0) - (b[c] ?? 0))).toBeLessThan(4);
  });

  it("ignores the thumbnail, depth map and gain map items (their data is garbage: decoding them would fail)", async () => {
    await expect(processImage(fixture("grid.heic"))).resolves.toMatchObject({ format: "heic" });
  });

  it("crops heif-enc's odd-size 1x1 grid to its stated size", async () => {
    const r = await processImage(fixture("odd-size.heic"));
    expect([r.width, r.height]).toEqual([800, 653]);
  });

  it("turns a 10-bit HEIC into plausible 8-bit sRGB", async () => {
    const r = await processImage(fixture("10bit.heic"));
    expect([r.width, r.height]).toEqual([400, 327]);
    const img = (await decodeWebp(r.preview.bytes)).value;
    const ref = await preview("p3-reference.jpg");
    if (!img) throw new Error("no preview");
    expect(meanDiff(img, ref)).toBeLessThan(6);
  });

  for (const name of ["p3.heic", "p3-nclx.heic"]) {
    it(`converts Display P3 (${name.includes("nclx") ? "nclx primaries 12" : "ICC profile"}) to sRGB: no washed-out or green cast`, async () => {
      const img = await preview(name);
      const ref = await preview("p3-reference.jpg");
      const s = stats(img);
      const t = stats(ref);
      for (let c = 0; c < 3; c++)
        expect(Math.abs((s.mean[c] ?? 0) - (t.mean[c] ?? 0))).toBeLessThan(4);
      // P3 values shown as sRGB lose ~10-20% of their saturation; converted, they keep it.
      expect(s.saturation / t.saturation).toBeGreaterThan(0.95);
      expect(meanDiff(img, ref)).toBeLessThan(6);
    });
  }

  it("keeps the alpha plane of a HEIC", async () => {
    const r = await processImage(fixture("alpha.heic"));
    const img = (await decodeWebp(r.preview.bytes)).value;
    if (!img) throw new Error("no preview");
    let transparent = 0;
    for (let i = 3; i < img.data.length; i += 4) if ((img.data[i] ?? 255) < 16) transparent++;
    expect(transparent).toBeGreaterThan(img.data.length / 4 / 10);
  });
});

describe("HEIF planned from the first bytes", () => {
  it("plans a HEIC from a prefix that holds its meta box, as from the whole file", async () => {
    const whole = fixture("grid.heic");
    const prefix = whole.subarray(0, 4096);
    const fromPrefix = planImage(prefix, whole.length);
    expect(fromPrefix.probe.format).toBe("heic");
    expect(fromPrefix.estimatedBytes).toBe(planImage(whole, whole.length).estimatedBytes);
  });

  it("sets the whole budget aside when the prefix ends inside the meta box", async () => {
    const whole = fixture("grid.heic");
    expect(laneBytes(whole.subarray(0, 200), whole.length)).toBe(DEFAULT_BUDGET.memoryBytes);
  });
});

describe("bad HEIF fails clearly and permanently", () => {
  it("refuses a truncated HEIC", async () => {
    const whole = fixture("photo.heic");
    const err = await failure(processImage(whole.subarray(0, Math.floor(whole.length * 0.7))));
    expect(err.code).toBe("corrupt");
    expect(err.message).toMatch(/truncated/);
  });

  it("refuses a HEIC cut inside its meta box", async () => {
    const err = await failure(processImage(fixture("photo.heic").subarray(0, 300)));
    expect(err.code).toBe("corrupt");
    expect(err.message).toMatch(/truncated|cut short/);
  });

  it("refuses a HEIC without hvcC", async () => {
    const err = await failure(processImage(fixture("bad-no-hvcc.heic")));
    expect(err.code).toBe("corrupt");
    expect(err.message).toMatch(/hvcC/);
  });

  it("refuses a grid whose tiles do not cover the image", async () => {
    const err = await failure(processImage(fixture("bad-grid-gap.heic")));
    expect(err.code).toBe("corrupt");
    expect(err.message).toMatch(/do not cover/);
  });

  it("refuses an absurd tile count before reading any tile", async () => {
    const err = await failure(processImage(fixture("bad-grid-huge.heic")));
    expect(err.code).toBe("too_large");
    expect(err.message).toMatch(/65536 tiles/);
  });

  it("refuses an msf1 image sequence with no still image", async () => {
    const err = await failure(processImage(fixture("bad-sequence.heic")));
    expect(err.code).toBe("unsupported_format");
    expect(err.message).toMatch(/sequence/);
  });

  it("refuses damaged HEVC data as corrupt, not as a crash", async () => {
    const bytes = fixture("photo.heic").slice();
    // Overwrite the middle of the coded image (mdat is the last box).
    for (let i = bytes.length - 20000; i < bytes.length - 10000; i++) bytes[i] = (i * 7) & 255;
    const err = await failure(processImage(bytes));
    expect(err.code).toBe("corrupt");
  });
});

describe("AVIF in the pipeline", () => {
  it("decodes an AVIF of a real photo, with its EXIF", async () => {
    const r = await processImage(fixture("photo.avif"));
    expect(r.format).toBe("avif");
    expect([r.width, r.height]).toEqual([800, 652]);
    expect(r.metadata).toMatchObject({ make: "Apple", model: "iPhone 13 mini" });
    const img = (await decodeWebp(r.preview.bytes)).value;
    if (!img) throw new Error("no preview");
    expect(meanDiff(img, await preview("photo-export.jpg"))).toBeLessThan(6);
    expect(r.peakBytes).toBeLessThanOrEqual(r.estimatedBytes);
  });

  it("turns a 10-bit AVIF into plausible 8-bit sRGB", async () => {
    const img = await preview("10bit.avif");
    expect(meanDiff(img, await preview("p3-reference.jpg"))).toBeLessThan(6);
  });

  for (const name of ["p3.avif", "p3-nclx.avif", "p3-nclx-10bit.avif"]) {
    it(`converts a Display P3 AVIF (${name.includes("nclx") ? `nclx primaries 12, ${name.includes("10bit") ? "10" : "8"}-bit` : "ICC profile"}) to sRGB, as a HEIC's`, async () => {
      const r = await processImage(fixture(name));
      expect(r.peakBytes).toBeLessThanOrEqual(r.estimatedBytes);
      const img = (await decodeWebp(r.preview.bytes)).value;
      if (!img) throw new Error("no preview");
      const ref = await preview("p3-reference.jpg");
      const s = stats(img);
      const t = stats(ref);
      for (let c = 0; c < 3; c++)
        expect(Math.abs((s.mean[c] ?? 0) - (t.mean[c] ?? 0))).toBeLessThan(4);
      // P3 values shown as sRGB lose ~10-20% of their saturation; converted, they keep it.
      expect(s.saturation / t.saturation).toBeGreaterThan(0.95);
      expect(meanDiff(img, ref)).toBeLessThan(6);
    });
  }

  it("keeps the alpha of an AVIF", async () => {
    const img = await preview("alpha.avif");
    let transparent = 0;
    for (let i = 3; i < img.data.length; i += 4) if ((img.data[i] ?? 255) < 16) transparent++;
    expect(transparent).toBeGreaterThan(img.data.length / 4 / 10);
  });

  it("refuses an AVIF over the memory budget, saying why", async () => {
    const err = await failure(
      processImage(fixture("photo.avif"), {
        budget: { maxPixels: 100e6, memoryBytes: 8 * 2 ** 20 },
      }),
    );
    expect(err.code).toBe("too_large");
    expect(err.message).toMatch(/8-bit AVIF needs about \d+ MB to process; the limit is 8 MB/);
  });

  it("never sends an AVIF over the budget to the Images binding: Cloudflare's does not read AVIF", async () => {
    // The local binding (sharp) would decode it; Cloudflare's would refuse it. Calls are
    // counted on the way through to the real local binding.
    let inputs = 0;
    const images = {
      input: (stream: ReadableStream<Uint8Array>) => {
        inputs++;
        return env.IMAGES.input(stream);
      },
    };
    const err = await failure(
      processImage(fixture("photo.avif"), {
        budget: { maxPixels: 100e6, memoryBytes: 8 * 2 ** 20 },
        images,
      }),
    );
    expect(err.code).toBe("too_large");
    expect(err.message).toMatch(
      /AVIF needs about \d+ MB to process; the limit is 8 MB, and Cloudflare Images does not take AVIF as a transformation input/,
    );
    expect(inputs).toBe(0);
  });
});

describe("GIF in the pipeline", () => {
  it("makes variants of a still GIF that look like the photo", async () => {
    const r = await processImage(fixture("still.gif"));
    expect(r).toMatchObject({ format: "gif", animated: false });
    const img = (await decodeWebp(r.preview.bytes)).value;
    if (!img) throw new Error("no preview");
    expect([img.width, img.height]).toEqual([160, 131]);
    const s = stats(img).mean;
    const t = stats(await preview("p3-reference.jpg")).mean;
    for (let c = 0; c < 3; c++) expect(Math.abs((s[c] ?? 0) - (t[c] ?? 0))).toBeLessThan(8);
  });

  it("takes the first frame of an animated GIF and says it was animated", async () => {
    const r = await processImage(fixture("animated.gif"));
    expect(r).toMatchObject({ format: "gif", animated: true });
    expect(r.thumb.width).toBeGreaterThan(0);
  });

  it("refuses a GIF cut inside its header as corrupt", async () => {
    const err = await failure(processImage(fixture("still.gif").subarray(0, 20)));
    expect(err.code).toBe("corrupt");
    expect(err.message).toMatch(/GIF/);
  });
});
