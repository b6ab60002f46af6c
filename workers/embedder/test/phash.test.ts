import { NEAR_DUPLICATE_MAX_DISTANCE } from "@darkroom/shared";
import { describe, expect, it } from "vitest";
import { decodeThumb, type Rgba } from "../src/decode-thumb";
import { hammingDistance, perceptualHash } from "../src/phash";
import { FIXTURES, type FixtureName, fixtureBytes } from "./fixtures";

async function hashOf(name: FixtureName): Promise<string> {
  return perceptualHash(await decodeThumb(fixtureBytes(name).slice().buffer));
}

/** A smooth, textured synthetic image (no clipping at ±40 of brightness). */
function pattern(width: number, height: number, offset = 0): Rgba {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = x / width;
      const w = y / height;
      const v = 128 + 60 * Math.sin(u * 13) * Math.cos(w * 7) + 20 * Math.sin((u + w) * 9) + offset;
      data.set([v, v * 0.8, v * 0.6, 255], (y * width + x) * 4);
    }
  }
  return { width, height, data };
}

describe("the perceptual hash", () => {
  it("matches the pinned known answers for the fixture thumbs (16 hex digits, 64 bits)", async () => {
    const pinned: Record<FixtureName, string> = {
      "saw.thumb.webp": "fdf432a9980ec634",
      "saw-copy.thumb.webp": "fdf432a9980ec634",
      "waterfall.thumb.webp": "2f0f8d04e666f2b2",
      "concert.thumb.webp": "34ebcbdb4a562624",
      "park.thumb.webp": "b42353b479c315ec",
      "note.thumb.webp": "0f0ff1e00e15f0ee",
    };
    for (const name of FIXTURES) {
      expect(await hashOf(name), name).toBe(pinned[name]);
      expect(await hashOf(name)).toMatch(/^[0-9a-f]{16}$/);
    }
  });

  it("of a synthetic pattern is pinned too, and ignores a uniform change of brightness", () => {
    const h = perceptualHash(pattern(300, 200));
    expect(h).toBe(perceptualHash(pattern(300, 200)));
    expect(h).toBe("0ff0c01ff01ff01e");
    // Brightness moves only the DC coefficient, which the hash leaves out.
    expect(perceptualHash(pattern(300, 200, 40))).toBe(h);
  });

  it("barely moves when the image is resized", () => {
    expect(
      hammingDistance(perceptualHash(pattern(300, 200)), perceptualHash(pattern(150, 100))),
    ).toBeLessThanOrEqual(4);
  });

  it("puts the resized, re-encoded copy within the near-duplicate threshold and unrelated photos far outside", async () => {
    expect(
      hammingDistance(await hashOf("saw.thumb.webp"), await hashOf("saw-copy.thumb.webp")),
    ).toBeLessThanOrEqual(NEAR_DUPLICATE_MAX_DISTANCE);
    const unrelated: FixtureName[] = [
      "saw.thumb.webp",
      "waterfall.thumb.webp",
      "concert.thumb.webp",
      "park.thumb.webp",
      "note.thumb.webp",
    ];
    for (const a of unrelated) {
      for (const b of unrelated) {
        if (a === b) continue;
        expect(hammingDistance(await hashOf(a), await hashOf(b)), `${a} ${b}`).toBeGreaterThan(
          2 * NEAR_DUPLICATE_MAX_DISTANCE,
        );
      }
    }
  });
});

describe("hammingDistance", () => {
  it("counts differing bits", () => {
    expect(hammingDistance("0000000000000000", "0000000000000000")).toBe(0);
    expect(hammingDistance("0000000000000000", "ffffffffffffffff")).toBe(64);
    expect(hammingDistance("8000000000000001", "0000000000000000")).toBe(2);
    expect(hammingDistance("fdf432a9980ec634", "2f0f8d04e666f2b2")).toBe(38);
  });
});
