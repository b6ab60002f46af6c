import { defineConfig } from "vitest/config";

// Node-side tests: shared code and the end-to-end run of the real `npm run dev`.
export default defineConfig({
  test: {
    name: "e2e",
    environment: "node",
    include: ["**/*.test.ts"],
    // test/pipeline runs in workerd: its own project (test/pipeline/vitest.config.ts).
    exclude: ["pipeline/**", "**/node_modules/**"],
    // Starting wrangler dev (esbuild, three workers, D1 migrations) takes seconds on a
    // warm machine and much longer on a cold CI runner.
    testTimeout: 120_000,
    hookTimeout: 240_000,
    teardownTimeout: 60_000,
  },
});
