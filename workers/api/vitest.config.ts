import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { testSecrets } from "../../test/secrets.ts";

const migrations = await readD1Migrations(
  fileURLToPath(new URL("../../migrations", import.meta.url)),
);

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "../../wrangler.toml" },
      miniflare: {
        bindings: {
          ...testSecrets,
          TEST_MIGRATIONS: migrations,
          // Small enough to drain in a test; the defaults live in src/lib/config/config.ts.
          RATE_LIMIT_CAPACITY: "250",
          RATE_LIMIT_REFILL_PER_MINUTE: "60",
        },
      },
    }),
  ],
  test: {
    name: "api",
    // No test here is timed (speed lives in the benchmarks): the limit only catches a hang,
    // so it must hold on a loaded 2-core machine, where vitest's 5 s default did not.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    include: ["test/**/*.test.ts"],
    setupFiles: ["./test/setup.ts"],
  },
});
