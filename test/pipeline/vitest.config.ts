import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

const migrations = await readD1Migrations(
  fileURLToPath(new URL("../../migrations", import.meta.url)),
);

// The whole pipeline in one workerd: the processor as deployed (its wrangler.toml: DB,
// BUCKET, the queues, IMAGES), the embedder's handler beside it (test/pipeline/worker.ts),
// and the api's UserHub and AiBreaker for the bindings both stages use. A test hands each
// message to the worker that consumes its queue, on a clock of its own.
export default defineConfig({
  plugins: [
    cloudflareTest({
      main: "./worker.ts",
      wrangler: { configPath: "../../workers/processor/wrangler.toml" },
      miniflare: {
        durableObjects: {
          USER_HUB: { className: "UserHub", useSQLite: true },
          AI_BREAKER: { className: "AiBreaker", useSQLite: true },
        },
        // UserHub reads the api's rate-limit vars (the defaults of workers/api/src/lib/config.ts).
        bindings: {
          RATE_LIMIT_CAPACITY: "3000",
          RATE_LIMIT_REFILL_PER_MINUTE: "600",
          TEST_MIGRATIONS: migrations,
          // A small real photo (400x267 greyscale JPEG) that goes all the way to `ready`.
          PHOTO: readFileSync(
            fileURLToPath(new URL("../fixtures/images/concert.jpg", import.meta.url)),
          ).toString("base64"),
        },
      },
    }),
  ],
  test: {
    name: "pipeline",
    // No test here is timed: the limit only catches a hang on a loaded 2-core machine.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    include: ["*.test.ts"],
    setupFiles: ["./setup.ts"],
  },
});
