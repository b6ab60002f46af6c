import { type LifecycleTimings, lifecycleTimings } from "@darkroom/shared";
import { z } from "zod";
import { type Budget, DEFAULT_BUDGET } from "./image/pipeline";

const MIB = 1024 * 1024;

// The processor's vars, each with its one default (the pipeline's own budget): wrangler.toml
// sets none of them unless a deployment means to override one.
const configSchema = z.object({
  /** Peak bytes (WASM memories + pixel buffers) one image may use in the 128 MB isolate; larger images go to the Images binding. */
  PROCESSOR_MEMORY_BUDGET_MB: z.coerce
    .number()
    .positive()
    .default(DEFAULT_BUDGET.memoryBytes / MIB),
  /** The largest image, in megapixels, the processor accepts at all. */
  PROCESSOR_MAX_MEGAPIXELS: z.coerce
    .number()
    .positive()
    .default(DEFAULT_BUDGET.maxPixels / 1e6),
});

export type ProcessorConfig = LifecycleTimings & { budget: Budget };

/** Parses the processor's vars; throws on a value that is not a positive number. */
export function processorConfig(env: object): ProcessorConfig {
  const vars = configSchema.parse(env);
  return {
    budget: {
      memoryBytes: vars.PROCESSOR_MEMORY_BUDGET_MB * MIB,
      maxPixels: vars.PROCESSOR_MAX_MEGAPIXELS * 1e6,
    },
    // PROCESSING_LEASE_SECONDS: parsed with the other lifecycle timings (lifecycle/leases.ts).
    ...lifecycleTimings(env),
  };
}
