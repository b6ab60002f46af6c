import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

const migrations = await readD1Migrations(
  fileURLToPath(new URL("../../migrations", import.meta.url)),
);

// The edge-case photos (test/fixtures/images) and the phone-format files made from them
// (test/fixtures/heif; sources, commands and licences in their READMEs), handed to the
// workerd tests as base64 strings: tests there have no file system.
const fixtures: Record<string, string> = {};
for (const folder of ["images", "heif", "containers"]) {
  const dir = fileURLToPath(new URL(`../../test/fixtures/${folder}`, import.meta.url));
  for (const name of readdirSync(dir)) {
    if (name in fixtures) throw new Error(`two fixtures named ${name}`);
    if (!name.endsWith(".md")) fixtures[name] = readFileSync(`${dir}/${name}`).toString("base64");
  }
}

// The fuzzer's regression fixtures (test/fuzz/findings: <name>.bin and <name>.json with
// the expected outcome), and the long run's minutes and seed (scripts/fuzz.mjs sets them).
const findings: Record<string, { file: string; expected: string }> = {};
const findingsDir = fileURLToPath(new URL("./test/fuzz/findings", import.meta.url));
for (const name of readdirSync(findingsDir)) {
  if (!name.endsWith(".bin")) continue;
  const meta = JSON.parse(
    readFileSync(`${findingsDir}/${name.replace(/\.bin$/, ".json")}`, "utf8"),
  );
  findings[name] = {
    file: readFileSync(`${findingsDir}/${name}`).toString("base64"),
    expected: meta.expected,
  };
}

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
        // UserHub reads the api's rate-limit vars (the defaults of workers/api/src/lib/config/config.ts).
        bindings: {
          RATE_LIMIT_CAPACITY: "3000",
          RATE_LIMIT_REFILL_PER_MINUTE: "600",
          TEST_MIGRATIONS: migrations,
          FIXTURES: fixtures,
          FUZZ_FINDINGS: findings,
          FUZZ_MINUTES: process.env.FUZZ_MINUTES ?? "0",
          FUZZ_SEED: process.env.FUZZ_SEED ?? "",
        },
      },
    }),
  ],
  test: {
    name: "processor",
    // No test here is timed (speed lives in the benchmarks): the limit only catches a hang,
    // so it must hold on a loaded 2-core machine, where vitest's 5 s default did not.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // The shared lifecycle's tests run here too: they need workerd, a real D1 and a hub.
    include: ["test/**/*.test.ts", "../../packages/shared/src/**/*.test.ts"],
    setupFiles: ["./test/setup.ts"],
  },
});
