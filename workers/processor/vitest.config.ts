import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

const migrations = await readD1Migrations(
  fileURLToPath(new URL("../../migrations", import.meta.url)),
);

export default defineConfig({
  plugins: [
    cloudflareTest({
      // The worker plus the api's UserHub class, so USER_HUB is a real hub in tests.
      main: "./test/worker.ts",
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        // Replaces wrangler.toml's binding (script_name = "darkroom-api") with the
        // UserHub class exported by test/worker.ts.
        durableObjects: { USER_HUB: { className: "UserHub", useSQLite: true } },
        // UserHub reads the api's rate-limit vars (same values as the root wrangler.toml).
        bindings: {
          RATE_LIMIT_CAPACITY: "3000",
          RATE_LIMIT_REFILL_PER_MINUTE: "600",
          TEST_MIGRATIONS: migrations,
        },
      },
    }),
  ],
  test: {
    name: "processor",
    include: ["test/**/*.test.ts"],
    setupFiles: ["./test/setup.ts"],
  },
});
