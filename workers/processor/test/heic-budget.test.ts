// Big and deep single coded HEVC images against the memory budget: libde265 holds the
// whole picture (planes + per-block metadata) while it decodes, so the estimate must be an
// upper bound of what the decode really takes, and what cannot fit is refused before any
// decoder runs (8-bit untiled: up to ~29.7 MP at 4:3; the fixtures sit either side).
// Fixtures: scripts/make-heif-extra-fixtures.mjs (smooth gradients: the
// decoder's memory depends on the picture's size, not its content).
import { describe, expect, it } from "vitest";
import { ImageError } from "../src/image/errors";
import { DEFAULT_BUDGET, planImage, processImage } from "../src/image/pipeline";
import { fixture } from "./fixtures";

const MB = 1024 * 1024;

/** What planImage throws for a fixture (before any decoder runs), or null. */
function refusal(name: string): unknown {
  try {
    const bytes = fixture(name);
    planImage(bytes, bytes.length);
  } catch (e) {
    return e;
  }
  return null;
}

describe("big and deep HEIC within the budget", () => {
  for (const depth of [10, 12]) {
    it(`decodes a 12 MP ${depth}-bit untiled HEIC within the default budget, under its estimate`, async () => {
      const r = await processImage(fixture(`12mp-${depth}bit.heic`));
      expect([r.width, r.height]).toEqual([4032, 3024]);
      expect(r.path).toBe("wasm");
      expect(r.estimatedBytes).toBeLessThanOrEqual(DEFAULT_BUDGET.memoryBytes);
      expect(r.peakBytes).toBeLessThanOrEqual(r.estimatedBytes);
    }, 180_000);
  }

  for (const [name, size] of [
    ["48mp-untiled.heic", "8064x6048 8-bit"],
    ["48mp-10bit-untiled.heic", "8064x6048 10-bit"],
    ["31mp-untiled.heic", "6400x4800 8-bit"],
  ] as const) {
    it(`refuses a ${size} untiled HEIC as too_large before decoding, saying how much it needs`, () => {
      const err = refusal(name);
      expect(err).toBeInstanceOf(ImageError);
      expect(err).toMatchObject({ code: "too_large" });
      expect(String((err as Error).message)).toMatch(
        new RegExp(`^${size} HEIC needs about \\d+ MB`),
      );
    });
  }

  it("decodes an 8-bit untiled HEIC just under the budget's line (28 MP) under its estimate", async () => {
    const bytes = fixture("28mp-untiled.heic");
    const plan = planImage(bytes, bytes.length);
    expect(plan.path).toBe("wasm");
    expect(plan.estimatedBytes).toBeGreaterThan(0.9 * DEFAULT_BUDGET.memoryBytes);
    const r = await processImage(bytes);
    expect([r.width, r.height]).toEqual([6144, 4608]);
    expect(r.peakBytes).toBeLessThanOrEqual(r.estimatedBytes);
  }, 300_000);

  it("decodes that 48 MP untiled HEIC under its estimate when the budget allows it", async () => {
    const budget = { ...DEFAULT_BUDGET, memoryBytes: 256 * MB };
    const r = await processImage(fixture("48mp-untiled.heic"), { budget });
    expect([r.width, r.height]).toEqual([8064, 6048]);
    expect(r.peakBytes).toBeLessThanOrEqual(r.estimatedBytes);
  }, 300_000);
});
