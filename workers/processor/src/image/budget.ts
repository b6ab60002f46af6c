/** What one image may cost: checked from its header before anything is decoded. */
export type Budget = {
  /** Hard cap on width x height, checked from the header before anything else. */
  maxPixels: number;
  /** Peak of WASM memories + live pixel buffers one image may use. */
  memoryBytes: number;
};

export const DEFAULT_BUDGET: Budget = { maxPixels: 100_000_000, memoryBytes: 100 * 1024 * 1024 };
