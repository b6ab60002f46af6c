import { DESCRIPTOR_DIMENSIONS } from "@darkroom/shared";
import { describe, expect, it } from "vitest";
import type { Rgba } from "../src/decode-thumb";
import { decodeThumb } from "../src/decode-thumb";
import { colourNames, cosine, visualDescriptor } from "../src/descriptor";
import { FIXTURES, type FixtureName, fixtureBytes } from "./fixtures";

/** A synthetic RGBA image. */
function image(
  width: number,
  height: number,
  pixel: (x: number, y: number) => [number, number, number, number],
): Rgba {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(pixel(x, y), (y * width + x) * 4);
  }
  return { width, height, data };
}

async function decoded(name: FixtureName): Promise<Rgba> {
  return decodeThumb(fixtureBytes(name).slice().buffer);
}

/** SHA-256 of the values rounded to 5 decimals: pins a descriptor, not float noise. */
async function digest(v: Float32Array): Promise<string> {
  const text = Array.from(v, (x) => x.toFixed(5)).join(",");
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

const norm = (v: Float32Array) => Math.hypot(...v);
/** Dimensions in [from, to) that are not zero (beyond float rounding noise). */
const nonZero = (v: Float32Array, from: number, to: number) =>
  Array.from(v.subarray(from, to), (x, i) => [from + i, x] as const).filter(
    ([, x]) => Math.abs(x) > 1e-9,
  );

describe("the visual descriptor", () => {
  it("of a uniform pure red image is what docs/search.md defines", () => {
    const d = visualDescriptor(image(40, 30, () => [255, 0, 0, 255]));
    // Colour layout: every region is (Y − 0.5, 2·Cb, 2·Cr) of pure red, BT.601.
    const region = [0.299 - 0.5, 2 * -0.168736, 2 * 0.5];
    const layoutNorm = 4 * Math.hypot(...region);
    // No edges: the weights of the three remaining groups renormalise the whole.
    const total = Math.sqrt(0.35 + 0.25 + 0.15);
    for (let r = 0; r < 16; r++) {
      for (let c = 0; c < 3; c++) {
        const expected = ((region[c] ?? 0) / layoutNorm) * (Math.sqrt(0.35) / total);
        expect(d[r * 3 + c]).toBeCloseTo(expected, 6);
      }
    }
    // Colour histogram: all pixels in hue bin 0 (0–30°), high saturation → dim 48 + 1.
    expect(nonZero(d, 48, 80)).toEqual([[49, expect.closeTo(Math.sqrt(0.25) / total, 6)]]);
    // Edge orientation: none.
    expect(nonZero(d, 80, 112)).toEqual([]);
    // Texture: every gradient in the first magnitude bin; no spread, no edges.
    expect(nonZero(d, 112, 128)).toEqual([[112, expect.closeTo(Math.sqrt(0.15) / total, 6)]]);
  });

  it("has 128 dimensions and unit length", async () => {
    for (const name of FIXTURES) {
      const d = visualDescriptor(await decoded(name));
      expect(d).toHaveLength(DESCRIPTOR_DIMENSIONS);
      expect(norm(d)).toBeCloseTo(1, 5);
    }
  });

  it("sees transparent pixels as the white they are shown on", () => {
    const transparent = visualDescriptor(image(20, 20, () => [12, 200, 40, 0]));
    const white = visualDescriptor(image(20, 20, () => [255, 255, 255, 255]));
    expect(Array.from(transparent)).toEqual(Array.from(white));
    // White: the top grey level of the colour histogram (dim 48 + 24 + 7).
    expect(nonZero(white, 48, 80).map(([i]) => i)).toEqual([79]);
  });

  it("puts a vertical edge in orientation bin 0 and a horizontal one in bin 4 of every quadrant", () => {
    const vertical = visualDescriptor(
      image(64, 64, (x) => (x < 32 ? [0, 0, 0, 255] : [255, 255, 255, 255])),
    );
    const horizontal = visualDescriptor(
      image(64, 64, (_, y) => (y < 32 ? [0, 0, 0, 255] : [255, 255, 255, 255])),
    );
    expect(nonZero(vertical, 80, 112).map(([i]) => i)).toEqual([80, 88, 96, 104]);
    expect(nonZero(horizontal, 80, 112).map(([i]) => i)).toEqual([84, 92, 100, 108]);
    const [first, ...rest] = nonZero(vertical, 80, 112).map(([, x]) => x);
    for (const x of rest) expect(x).toBeCloseTo(first ?? 0, 6);
    // Orientation is unsigned: light-to-dark edges land in the same bins.
    const flipped = visualDescriptor(
      image(64, 64, (x) => (x < 32 ? [255, 255, 255, 255] : [0, 0, 0, 255])),
    );
    expect(nonZero(flipped, 80, 112).map(([i]) => i)).toEqual([80, 88, 96, 104]);
  });

  it("is deterministic, and matches the pinned known answers for the fixture thumbs", async () => {
    const pinned: Record<FixtureName, string> = {
      "saw.thumb.webp": "fef89cf3bb13c576fdc822a38d81052f21ac47267eb811381f1b69ed501d937a",
      "saw-copy.thumb.webp": "2894b03bc3fec431dbb92f6ada66c67acd614732f2e8e8efd87abb9d6b7f87d9",
      "waterfall.thumb.webp": "1115ba5f5b8e68322a4f95738127679b5b3dd0871170b71b7cd146983e4306f6",
      "concert.thumb.webp": "1ba9aa5ec380888f72ee8fc031df4741a843c4c8a22ebf27e82bddf82bd54e74",
      "park.thumb.webp": "691fdd2fe9b886cebd3aa16ac9768ed5e9cd8c9bf975beb5217deae4d59744f6",
      "note.thumb.webp": "d11fa345cfb413b547208433930ddd714d7ab0e4440ec8a9582913428eb571fe",
    };
    for (const name of FIXTURES) {
      const a = visualDescriptor(await decoded(name));
      const b = visualDescriptor(await decoded(name));
      expect(new Uint8Array(a.buffer)).toEqual(new Uint8Array(b.buffer));
      expect(await digest(a), name).toBe(pinned[name]);
    }
  });

  it("scores a resized, re-encoded copy far closer than any unrelated photo", async () => {
    const saw = visualDescriptor(await decoded("saw.thumb.webp"));
    const copy = visualDescriptor(await decoded("saw-copy.thumb.webp"));
    expect(cosine(saw, copy)).toBeGreaterThan(0.99);
    for (const other of ["waterfall", "concert", "park", "note"] as const) {
      const d = visualDescriptor(await decoded(`${other}.thumb.webp`));
      expect(cosine(saw, d), other).toBeLessThan(0.8);
    }
  });
});

describe("colour names", () => {
  it("name the colours that cover the photo, and monochrome when nothing has a hue", async () => {
    expect(colourNames(visualDescriptor(image(8, 8, () => [20, 60, 230, 255])))).toEqual(["blue"]);
    expect(colourNames(visualDescriptor(await decoded("concert.thumb.webp")))).toEqual([
      "monochrome",
      "black",
      "grey",
    ]);
    expect(colourNames(visualDescriptor(await decoded("note.thumb.webp")))).toEqual([
      "monochrome",
      "white",
    ]);
    expect(colourNames(visualDescriptor(await decoded("park.thumb.webp")))).toContain("green");
  });
});
