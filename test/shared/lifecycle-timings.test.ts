import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { experimental_readRawConfig } from "wrangler";
import {
  DEFAULT_LIFECYCLE_TIMINGS,
  LIFECYCLE_TIMING_VARS,
  lifecycleTimings,
} from "../../packages/shared/src/leases";

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

  // Each worker declares exactly the vars it reads, with the defaults, locally and in
  // production: the config says what the worker uses and what it is set to.
  const timingNames: string[] = Object.values(LIFECYCLE_TIMING_VARS);
  it.each([
    ["wrangler.toml", timingNames],
    ["workers/processor/wrangler.toml", [LIFECYCLE_TIMING_VARS.processingLeaseMs]],
    ["workers/embedder/wrangler.toml", [LIFECYCLE_TIMING_VARS.embedLeaseMs]],
  ])("are declared in %s with the production defaults", (config, names) => {
    const { rawConfig } = experimental_readRawConfig({ config: path.join(root, config) });
    const blocks: [string, object][] = [
      ["[vars]", rawConfig.vars ?? {}],
      ["[env.production.vars]", rawConfig.env?.production?.vars ?? {}],
    ];
    for (const [where, vars] of blocks) {
      const declared = Object.keys(vars).filter((k) => timingNames.includes(k));
      expect(declared.sort(), `${config} ${where}`).toEqual([...names].sort());
      expect(lifecycleTimings(vars), `${config} ${where}`).toEqual(DEFAULT_LIFECYCLE_TIMINGS);
    }
  });
});
