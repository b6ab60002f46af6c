import { describe, expect, it } from "vitest";
import { ByteRate } from "../src/upload/byte-rate";

describe("ByteRate", () => {
  it("says 0 until the samples span half a second", () => {
    const r = new ByteRate();
    expect(r.perSecond()).toBe(0);
    r.sample(1000, 0);
    r.sample(1400, 4000);
    expect(r.perSecond()).toBe(0);
  });

  it("is the bytes sent over the time between the first and the last sample kept", () => {
    const r = new ByteRate();
    r.sample(1000, 0);
    r.sample(2000, 1000);
    r.sample(3000, 3000);
    expect(r.perSecond()).toBe(1500);
  });

  it("forgets samples older than five seconds", () => {
    const r = new ByteRate();
    r.sample(0, 0);
    r.sample(1000, 100_000);
    r.sample(7000, 106_000);
    r.sample(8000, 108_000);
    // 0 is gone (older than 8000 - 5000), and so is 1000.
    expect(r.perSecond()).toBe(2000);
  });
});
