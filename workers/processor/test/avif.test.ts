// AV1 in WASM (wasm/av1: dav1d) on the files of scripts/make-avif-fixtures.mjs: every
// chroma layout and bit depth, a grid, the transforms, and a container that lies.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { decodeAvifFit } from "../src/codecs/heif/avif";
import { HeifError } from "../src/codecs/heif/errors";
import type { HeifFile, HeifImageItem } from "../src/codecs/heif/types";
import { decodeWebp } from "../src/codecs/webp";
import { ImageError } from "../src/image/errors";
import { orient } from "../src/image/orient";
import { planImage, processImage } from "../src/image/pipeline";
import { probeHeif } from "../src/image/probe-heif";
import type { Rgba } from "../src/image/rgba";
import av1Wasm from "../wasm/av1/av1.wasm";
import { fixture } from "./fixtures";

const MB = 1024 * 1024;

async function preview(name: string): Promise<Rgba> {
  const r = await processImage(fixture(name));
  expect(r.peakBytes).toBeLessThanOrEqual(r.estimatedBytes);
  const img = (await decodeWebp(r.preview.bytes)).value;
  if (!img) throw new Error("no preview");
  return img;
}

/** The sRGB photo every fixture was encoded from (400x327), through the same pipeline. */
const reference = () => preview("p3-reference.jpg");

/** Mean absolute difference per channel of two same-sized images (alpha ignored). */
function meanDiff(a: Rgba, b: Rgba): number {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  let sum = 0;
  for (let i = 0; i < a.data.length; i += 4)
    for (let c = 0; c < 3; c++) sum += Math.abs((a.data[i + c] ?? 0) - (b.data[i + c] ?? 0));
  return sum / ((a.data.length / 4) * 3);
}

function crop(img: Rgba, x: number, y: number, width: number, height: number): Rgba {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let r = 0; r < height; r++) {
    const from = ((y + r) * img.width + x) * 4;
    data.set(img.data.subarray(from, from + width * 4), r * width * 4);
  }
  return { width, height, data };
}

/** BT.601 luma in all three channels: what a 4:0:0 file keeps of a colour photo. */
function grey(img: Rgba): Rgba {
  const data = new Uint8ClampedArray(img.data);
  for (let i = 0; i < data.length; i += 4) {
    const y = 0.299 * (data[i] ?? 0) + 0.587 * (data[i + 1] ?? 0) + 0.114 * (data[i + 2] ?? 0);
    data[i] = data[i + 1] = data[i + 2] = y;
  }
  return { ...img, data };
}

describe("AVIF through av1.wasm", () => {
  for (const name of ["av1-420.avif", "av1-422-10bit.avif", "av1-444-12bit.avif"]) {
    it(`decodes ${name.slice(4, -5)} to the photo it was made from`, async () => {
      // Separately encoded copies differ by ~2-4; a wrong matrix, range or depth by far more.
      expect(meanDiff(await preview(name), await reference())).toBeLessThan(5);
    });
  }

  it("decodes a monochrome (4:0:0) AVIF to the photo's luma", async () => {
    const img = await preview("av1-400.avif");
    expect(meanDiff(img, grey(await reference()))).toBeLessThan(5);
    // Grey: every pixel's channels are equal.
    let coloured = 0;
    for (let i = 0; i < img.data.length; i += 4) if (img.data[i] !== img.data[i + 2]) coloured++;
    expect(coloured).toBe(0);
  });

  it("decodes a grid tile row by tile row into the whole picture", async () => {
    const r = await processImage(fixture("av1-grid.avif"));
    expect([r.width, r.height]).toEqual([400, 324]);
    const img = (await decodeWebp(r.preview.bytes)).value;
    if (!img) throw new Error("no preview");
    expect(meanDiff(img, crop(await reference(), 0, 0, 400, 324))).toBeLessThan(5);
  });

  it("shows the clean aperture (clap) only", async () => {
    const img = await preview("av1-clap.avif");
    expect(meanDiff(img, crop(await reference(), 50, 60, 300, 200))).toBeLessThan(5);
  });

  it("applies irot and imir to the decoded picture", async () => {
    const r = await processImage(fixture("av1-irot1-imir1.avif"));
    // Stored 400x327, a quarter turn: shown 327x400, drawn as the photo turned and mirrored.
    expect([r.width, r.height]).toEqual([327, 400]);
    expect(r.metadata.orientation).toBeGreaterThanOrEqual(5);
    const img = (await decodeWebp(r.preview.bytes)).value;
    if (!img) throw new Error("no preview");
    const ref = await reference();
    expect(meanDiff(img, orient(ref, r.metadata.orientation))).toBeLessThan(5);
    // The other transposition (turned without the mirror) is far off: the mirror was applied.
    const other = r.metadata.orientation === 5 ? 7 : r.metadata.orientation === 7 ? 5 : 6;
    expect(meanDiff(img, orient(ref, other))).toBeGreaterThan(20);
  });

  it("refuses an AVIF over the memory budget too_large, even with the Images binding (it takes no AVIF)", async () => {
    const err = await processImage(fixture("av1-420.avif"), {
      budget: { maxPixels: 100e6, memoryBytes: 4 * MB },
      images: env.IMAGES,
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ImageError);
    if (!(err instanceof ImageError)) return;
    expect(err.code).toBe("too_large");
    expect(err.message).toMatch(/8-bit AVIF needs about \d+ MB to process; the limit is 4 MB/);
  });
});

describe("a single AV1 image streamed through dav1d's row window", () => {
  // The same coded image presented as a grid of one tile takes the whole-picture path
  // (decoded whole, copied into a band, converted): the window must change no pixel.
  const whole = (file: HeifFile): HeifFile => {
    const { primary, alpha } = file;
    const asGrid = (img: HeifImageItem): HeifImageItem => ({
      ...img,
      type: "grid",
      coded: null,
      transforms: [],
      grid: { rows: 1, columns: 1, tiles: [{ ...img, transforms: [] }] },
    });
    return {
      ...file,
      primary: { ...asGrid(primary), transforms: primary.transforms },
      alpha: alpha ? asGrid(alpha) : null,
    };
  };
  const full = (w: number, h: number) => ({ width: w, height: h });

  for (const name of [
    "av1-420.avif",
    "av1-422-10bit.avif",
    "av1-444-12bit.avif",
    "av1-400.avif",
    "av1-clap.avif",
    "av1-alpha.avif",
    "p3-nclx-10bit.avif",
  ]) {
    it(`gives the rows of ${name} bit for bit as decoding it whole`, () => {
      const bytes = fixture(name);
      const { heif } = probeHeif(bytes, "avif");
      expect(heif.primary.grid).toBeNull();
      const streamed = decodeAvifFit(bytes, heif, av1Wasm, full, 64 * MB);
      const reference = decodeAvifFit(bytes, whole(heif), av1Wasm, full, 64 * MB);
      expect([streamed.rowWindow, reference.rowWindow]).toEqual([true, false]);
      expect([streamed.value.width, streamed.value.height]).toEqual([
        reference.value.width,
        reference.value.height,
      ]);
      // Taller than the window (256 rows), so rows leave it before the frame is done.
      expect(heif.primary.height).toBeGreaterThan(256);
      if (name === "av1-alpha.avif") expect(heif.alpha).not.toBeNull();
      let differing = 0;
      for (let i = 0; i < streamed.value.data.length; i++)
        if (streamed.value.data[i] !== reference.value.data[i]) differing++;
      expect(differing).toBe(0);
    });
  }

  it("decodes a frame with intra block copy whole (it copies from rows the window let go), rows unchanged", () => {
    const bytes = fixture("av1-intrabc.avif");
    const { heif } = probeHeif(bytes, "avif");
    expect(heif.primary.height).toBeGreaterThan(256);
    const streamed = decodeAvifFit(bytes, heif, av1Wasm, full, 64 * MB);
    const reference = decodeAvifFit(bytes, whole(heif), av1Wasm, full, 64 * MB);
    expect(streamed.rowWindow).toBe(false);
    expect(streamed.value.data).toEqual(reference.value.data);
  });
});

describe("an untiled 48 MP AVIF", () => {
  it("is refused too_large by its estimate: dav1d holds the whole 8000x6000 frame", () => {
    // av1-420.avif's header saying 8000x6000: the plan refuses it before any decode.
    const bytes = fixture("av1-420.avif").slice();
    const at = new TextDecoder("latin1").decode(bytes).indexOf("ispe");
    const dv = new DataView(bytes.buffer, bytes.byteOffset);
    expect(dv.getUint32(at + 8)).toBe(400);
    dv.setUint32(at + 8, 8000);
    dv.setUint32(at + 12, 6000);
    let err: unknown = null;
    try {
      planImage(bytes, bytes.length);
    } catch (e) {
      err = e;
    }
    if (!(err instanceof ImageError)) throw new Error(`expected an ImageError, got ${String(err)}`);
    expect(err.code).toBe("too_large");
    expect(err.message).toMatch(
      /^8000x6000 8-bit AVIF needs about \d+ MB to process; the limit is 100 MB$/,
    );
  });
});

describe("an AVIF whose ispe disagrees with its AV1 sequence header", () => {
  // 484 bytes: a flat 4096x4096 AV1 image, its ispe rewritten to 64x64 (issue 20).
  const hostile = () => fixture("av1-ispe-lies.avif");

  it("is refused corrupt by the container parse, naming both sizes", async () => {
    const err = await processImage(hostile()).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ImageError);
    if (!(err instanceof ImageError)) return;
    expect(err.code).toBe("corrupt");
    expect(err.message).toBe(
      "The AVIF image 1's AV1 sequence header says 4096x4096 but its ispe says 64x64",
    );
  });

  it("is refused before any decoder exists: the probe reads the sequence header itself", () => {
    let err: unknown = null;
    try {
      probeHeif(hostile(), "avif");
    } catch (e) {
      err = e;
    }
    if (!(err instanceof ImageError)) throw new Error(`expected an ImageError, got ${String(err)}`);
    expect(err.code).toBe("corrupt");
  });

  it("is refused again by the decoder (dav1d's own reading) under an 8 MB ceiling, should a container ever get past the probe", () => {
    // A real AVIF's parsed container with its size edited after the probe: only dav1d's
    // reading of the bitstream stands between it and an allocation by the wrong size.
    const bytes = fixture("photo.avif");
    const h = probeHeif(bytes, "avif");
    const primary = { ...h.heif.primary, width: 64, height: 64 };
    let err: unknown = null;
    try {
      decodeAvifFit(
        bytes,
        { ...h.heif, primary },
        av1Wasm,
        (w, hh) => ({ width: w, height: hh }),
        8 * MB,
      );
    } catch (e) {
      err = e;
    }
    if (!(err instanceof HeifError)) throw new Error(`expected a HeifError, got ${String(err)}`);
    expect(err.code).toBe("corrupt");
    expect(err.message).toMatch(
      /^The AVIF image's AV1 bitstream is \d+x\d+ but the file says 64x64$/,
    );
  });
});
