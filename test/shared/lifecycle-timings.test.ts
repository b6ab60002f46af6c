import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { experimental_readRawConfig } from "wrangler";
import {
  DEFAULT_LIFECYCLE_TIMINGS,
  LIFECYCLE_TIMING_VARS,
  lifecycleTimings,
} from "../../packages/shared/src/lifecycle/leases";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("lifecycle timings", () => {
  it("are the production defaults when no var is set", () => {
    expect(lifecycleTimings({})).toEqual({
      processingLeaseMs: 120_000,
      uploadedIdleMs: 120_000,
      embedLeaseMs: 300_000,
      processedIdleMs: 600_000,
      deletingStaleMs: 300_000,
    });
  });

  it("take each var that is set, in seconds, and leave the others at their defaults", () => {
    const env = { DB: {}, PROCESSING_LEASE_SECONDS: "15", EMBED_LEASE_SECONDS: " 2.5 " };
    expect(lifecycleTimings(env)).toEqual({
      ...DEFAULT_LIFECYCLE_TIMINGS,
      processingLeaseMs: 15_000,
      embedLeaseMs: 2_500,
    });
  });

  it.each([
    ["negative", "-5"],
    ["zero", "0"],
    ["not a number", "NaN"],
    ["empty", ""],
    ["in exponent notation", "1e3"],
    ["with a unit", "10s"],
  ])("refuse a value that is %s, naming the var and the value", (_, value) => {
    expect(() => lifecycleTimings({ UPLOADED_IDLE_SECONDS: value })).toThrow(
      `Invalid lifecycle timing: UPLOADED_IDLE_SECONDS = ${JSON.stringify(value)}`,
    );
  });

  it("refuse a var that is not a string", () => {
    expect(() => lifecycleTimings({ EMBED_LEASE_SECONDS: 30 })).toThrow(/EMBED_LEASE_SECONDS = 30/);
  });

  // Config once: each default lives in code (leases.ts for these), so no wrangler.toml
  // repeats one; a deployment that means another value sets the var itself.
  it.each(["wrangler.toml", "workers/processor/wrangler.toml", "workers/embedder/wrangler.toml"])(
    "are left to their defaults in code by %s",
    (config) => {
      const { rawConfig } = experimental_readRawConfig({ config: path.join(root, config) });
      const declared = [
        ...Object.keys(rawConfig.vars ?? {}),
        ...Object.keys(rawConfig.env?.production?.vars ?? {}),
      ];
      const timingNames: string[] = Object.values(LIFECYCLE_TIMING_VARS);
      expect(declared.filter((name) => timingNames.includes(name))).toEqual([]);
      expect(lifecycleTimings(rawConfig.vars ?? {})).toEqual(DEFAULT_LIFECYCLE_TIMINGS);
    },
  );
});

describe("every wrangler.toml", () => {
  it.each(["wrangler.toml", "workers/processor/wrangler.toml", "workers/embedder/wrangler.toml"])(
    "%s carries only vars whose value differs between environments",
    (config) => {
      const { rawConfig } = experimental_readRawConfig({ config: path.join(root, config) });
      const local: Record<string, unknown> = rawConfig.vars ?? {};
      const production: Record<string, unknown> = rawConfig.env?.production?.vars ?? {};
      expect(Object.keys(local).sort()).toEqual(Object.keys(production).sort());
      const same = Object.keys(local).filter((name) => local[name] === production[name]);
      expect(same, "set once in code instead").toEqual([]);
    },
  );
});
