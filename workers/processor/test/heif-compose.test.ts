// HEIF images composed from several coded images (alpha planes, iovl overlays of HEVC and
// of AV1 images), against
// what libheif's heif-convert makes of the same files (references made by
// scripts/make-heif-extra-fixtures.mjs, see test/fixtures/heif/README.md).
import { describe, expect, it } from "vitest";
import { HEIF_LIMITS } from "../src/codecs/heif/errors";
import { decodeWebp } from "../src/codecs/webp";
import { ImageError } from "../src/image/errors";
import { processImage } from "../src/image/pipeline";
import { probe } from "../src/image/probe";
import type { Rgba } from "../src/image/rgba";
import { fixture } from "./fixtures";
import { ispe, primaryParts, u8, u16, writeHeif } from "./heif-build";
import { meanDiff } from "./pixels";

async function preview(name: string): Promise<Rgba> {
  const r = await processImage(fixture(name));
  const img = (await decodeWebp(r.preview.bytes)).value;
  if (!img) throw new Error(`no preview of ${name}`);
  return img;
}

/** Mean absolute difference of the alpha channels. */
function alphaDiff(a: Rgba, b: Rgba): number {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  let sum = 0;
  for (let i = 3; i < a.data.length; i += 4) sum += Math.abs((a.data[i] ?? 0) - (b.data[i] ?? 0));
  return sum / (a.data.length / 4);
}

const px = (img: Rgba, x: number, y: number) => {
  const i = (y * img.width + x) * 4;
  return [img.data[i] ?? 0, img.data[i + 1] ?? 0, img.data[i + 2] ?? 0, img.data[i + 3] ?? 0];
};

describe("HEIF alpha planes", () => {
  it("decodes a HEIC's alpha auxiliary image as heif-convert does", async () => {
    const mine = await preview("alpha.heic");
    const ref = await preview("alpha-reference.png");
    expect(meanDiff(mine, ref)).toBeLessThan(3);
    expect(alphaDiff(mine, ref)).toBeLessThan(2);
  });
});

describe("HEIF overlays (iovl)", () => {
  it("composes an overlay as heif-convert does: fill colour, offsets, a blended alpha layer, a layer clipped at the canvas edge", async () => {
    const r = await processImage(fixture("overlay.heic"));
    expect(r.format).toBe("heic");
    expect([r.width, r.height]).toEqual([480, 360]);
    expect(r.peakBytes).toBeLessThanOrEqual(r.estimatedBytes);
    const mine = await preview("overlay.heic");
    const ref = await preview("overlay-reference.png");
    expect(meanDiff(mine, ref)).toBeLessThan(2);
    // The canvas: opaque, the fill's high bytes (0x30, 0x60, 0x90) where no layer is.
    const fill = px(mine, 4, 4);
    for (const [c, want] of [0x30, 0x60, 0x90, 255].entries())
      expect(Math.abs((fill[c] ?? 0) - want)).toBeLessThanOrEqual(3);
  });

  it("clips layers at negative offsets to the canvas (the layers composed by sharp)", async () => {
    const mine = await preview("overlay-negative.heic");
    const ref = await preview("overlay-negative-reference.png");
    expect(meanDiff(mine, ref)).toBeLessThan(2);
  });

  it("draws a layer where the file puts it: the same layers at other offsets differ", async () => {
    const a = await preview("overlay.heic");
    const b = await preview("overlay-negative-reference.png");
    expect(meanDiff(a, b)).toBeGreaterThan(10);
  });
});

describe("AVIF overlays (iovl)", () => {
  it("composes an AVIF overlay by the HEIC overlay's rule, as heif-convert (and sharp) do", async () => {
    const r = await processImage(fixture("overlay.avif"));
    expect(r.format).toBe("avif");
    expect([r.width, r.height]).toEqual([480, 360]);
    expect(r.peakBytes).toBeLessThanOrEqual(r.estimatedBytes);
    const mine = await preview("overlay.avif");
    const ref = await preview("overlay-avif-reference.png");
    expect(meanDiff(mine, ref)).toBeLessThan(2);
    const fill = px(mine, 4, 4);
    for (const [c, want] of [0x30, 0x60, 0x90, 255].entries())
      expect(Math.abs((fill[c] ?? 0) - want)).toBeLessThanOrEqual(3);
  });
});

describe("HEIF overlays that do not add up", () => {
  const parts = primaryParts(fixture("photo.heic"), "hvc1");
  /** An iovl over `layers` copies of the photo, its descriptor holding `offsets` pairs. */
  const overlay = (layers: number, offsets: number) =>
    writeHeif({
      primary: 1,
      items: [
        {
          id: 1,
          type: "iovl",
          idat: Uint8Array.from([
            ...u8(0),
            ...u8(0),
            ...[0, 0, 0, 0xffff].flatMap((v) => [...u16(v)]),
            ...u16(640),
            ...u16(480),
            ...Array.from({ length: offsets * 2 }, () => [...u16(0)]).flat(),
          ]),
          props: [ispe(640, 480)],
        },
        ...Array.from({ length: layers }, (_, i) => ({
          id: 10 + i,
          type: "hvc1",
          data: parts.data,
          props: [parts.box("hvcC"), ispe(parts.width, parts.height)],
        })),
      ],
      refs: [{ type: "dimg", from: 1, to: Array.from({ length: layers }, (_, i) => 10 + i) }],
    });
  const refusal = (file: Uint8Array) => {
    try {
      probe(file);
    } catch (e) {
      if (e instanceof ImageError) return e;
      throw e;
    }
    throw new Error("not refused");
  };

  it("decodes a well-formed one (the layers below are what the refusals change)", async () => {
    const r = await processImage(overlay(2, 2));
    expect([r.width, r.height]).toEqual([640, 480]);
    expect(r.peakBytes).toBeLessThanOrEqual(r.estimatedBytes);
  });

  it("refuses a descriptor with fewer offsets than layers as corrupt, in the probe", () => {
    expect(refusal(overlay(3, 2))).toMatchObject({ code: "corrupt" });
  });

  it("refuses more layers than HEIF_LIMITS.maxOverlayLayers before reading any", () => {
    const n = HEIF_LIMITS.maxOverlayLayers + 1;
    const err = refusal(overlay(n, n));
    expect(err.code).toBe("too_large");
    expect(err.message).toMatch(new RegExp(`has ${n} images; at most ${n - 1}`));
  });
});
