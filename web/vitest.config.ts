import { defineConfig } from "vitest/config";

// The browser app's pure parts (upload scheduler, progress reducer, hashing, sniffing):
// plain TypeScript with injected clock, randomness and transport, so Node runs them.
export default defineConfig({
  test: {
    name: "web",
    // No test here is timed (speed lives in the benchmarks): the limit only catches a hang,
    // so it must hold on a loaded 2-core machine, where vitest's 5 s default did not.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    environment: "node",
    include: ["test/**/*.test.ts"],
  },
});
