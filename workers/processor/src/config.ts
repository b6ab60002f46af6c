import { type LifecycleTimings, lifecycleTimings } from "@darkroom/shared";
import { numberVar, readVars } from "@darkroom/shared/vars";
import { type Budget, DEFAULT_BUDGET } from "./image/pipeline";

const MIB = 1024 * 1024;

// The processor's vars, each with its one default (the pipeline's own budget): wrangler.toml
// sets none of them unless a deployment means to override one.
const configShape = {
  /** Peak bytes (WASM memories + pixel buffers) one image may use in the 128 MB isolate; larger images go to the Images binding. */
  PROCESSOR_MEMORY_BUDGET_MB: numberVar(DEFAULT_BUDGET.memoryBytes / MIB, { positive: true }),
  /** The largest image, in megapixels, the processor accepts at all. */
  PROCESSOR_MAX_MEGAPIXELS: numberVar(DEFAULT_BUDGET.maxPixels / 1e6, { positive: true }),
};

export type ProcessorConfig = LifecycleTimings & { budget: Budget };

/**
 * Parses the processor's vars (unset or empty: the default); throws, naming the var, on a
 * value that is not a positive number.
 */
export function processorConfig(env: object): ProcessorConfig {
  const vars = readVars(configShape, env, "Invalid processor var");
  return {
    budget: {
      memoryBytes: vars.PROCESSOR_MEMORY_BUDGET_MB * MIB,
      maxPixels: vars.PROCESSOR_MAX_MEGAPIXELS * 1e6,
    },
    // PROCESSING_LEASE_SECONDS: parsed with the other lifecycle timings (lifecycle/leases.ts).
    ...lifecycleTimings(env),
  };
}
