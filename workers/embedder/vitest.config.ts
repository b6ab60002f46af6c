import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

const migrations = await readD1Migrations(
  fileURLToPath(new URL("../../migrations", import.meta.url)),
);

// The committed WebP thumbs of test/fixtures, base64 by file name: workerd has no file
// system, so they reach the tests as a binding (see test/fixtures/make-fixtures.mjs).
const fixturesDir = fileURLToPath(new URL("./test/fixtures", import.meta.url));
const fixtures = Object.fromEntries(
  readdirSync(fixturesDir)
    .filter((name) => name.endsWith(".webp"))
    .map((name) => [name, readFileSync(`${fixturesDir}/${name}`).toString("base64")]),
);

export default defineConfig({
  plugins: [
    cloudflareTest({
      // The worker plus the api's UserHub class, so USER_HUB is a real hub in tests.
      main: "./test/worker.ts",
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        // Replaces wrangler.toml's bindings (script_name = "darkroom-api") with the
        // UserHub and AiBreaker classes exported by test/worker.ts.
        durableObjects: {
          USER_HUB: { className: "UserHub", useSQLite: true },
          AI_BREAKER: { className: "AiBreaker", useSQLite: true },
        },
        // TEST DOUBLES of Workers AI (no local emulation): service bindings to the
        // AiTestDoubleEntrypoint of test/worker.ts, one per behaviour. Tests opt in by
        // passing one as `AI`; the default env has no AI, like local dev.
        serviceBindings: Object.fromEntries(
          (
            [
              ["AI_TEST_DOUBLE", "ok"],
              ["AI_TEST_DOUBLE_RATE_LIMITED", "rate-limited"],
              ["AI_TEST_DOUBLE_UPSTREAM_ERROR", "upstream-error"],
              ["AI_TEST_DOUBLE_REJECTS_IMAGE", "rejects-image"],
              ["AI_TEST_DOUBLE_CAPTION_MODEL_REMOVED", "caption-model-removed"],
              ["AI_TEST_DOUBLE_DAILY_ALLOCATION_EXHAUSTED", "daily-allocation-exhausted"],
              ["AI_TEST_DOUBLE_SAYS_NOTHING", "says-nothing"],
            ] as const
          ).map(([binding, behaviour]) => [
            binding,
            {
              name: "darkroom-embedder",
              entrypoint: "AiTestDoubleEntrypoint",
              props: { behaviour },
            },
          ]),
        ),
        // UserHub reads the api's rate-limit vars (the defaults of workers/api/src/lib/config/config.ts).
        bindings: {
          RATE_LIMIT_CAPACITY: "3000",
          RATE_LIMIT_REFILL_PER_MINUTE: "600",
          TEST_MIGRATIONS: migrations,
          TEST_FIXTURES: fixtures,
        },
      },
    }),
  ],
  test: {
    name: "embedder",
    // No test here is timed (speed lives in the benchmarks): the limit only catches a hang,
    // so it must hold on a loaded 2-core machine, where vitest's 5 s default did not.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    include: ["test/**/*.test.ts"],
    setupFiles: ["./test/setup.ts"],
  },
});
