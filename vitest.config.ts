import { defineConfig } from "vitest/config";

// One `npm test` runs every project: each worker in workerd, the whole pipeline in one
// workerd (test/pipeline), plus the Node-side tests (shared code, the end-to-end run of
// `npm run dev`).
export default defineConfig({
  test: {
    projects: [
      "workers/api/vitest.config.ts",
      "workers/processor/vitest.config.ts",
      "workers/embedder/vitest.config.ts",
      "test/vitest.config.ts",
      "test/pipeline/vitest.config.ts",
      "web/vitest.config.ts",
    ],
  },
});
