// Generates (or, with --check, verifies) each worker's Env from its wrangler.toml.
// Secrets come from .dev.vars.example so the result never depends on local secrets.
import { execFileSync } from "node:child_process";

const check = process.argv.includes("--check");
const workers = [
  { config: ["wrangler.toml"], out: "workers/api/worker-configuration.d.ts" },
  // Each worker alone: typing the cross-script UserHub from the api's source would
  // type-check the api's files against this worker's Env. Stages reach the hub through
  // the small `HubPublisher` interface of packages/shared instead.
  {
    config: ["workers/processor/wrangler.toml"],
    out: "workers/processor/worker-configuration.d.ts",
  },
  { config: ["workers/embedder/wrangler.toml"], out: "workers/embedder/worker-configuration.d.ts" },
];
for (const w of workers) {
  const args = ["wrangler", "types", w.out, "--include-runtime=false", "--strict-vars=false"];
  for (const c of w.config) args.push("-c", c);
  args.push("--env-file", ".dev.vars.example");
  if (check) args.push("--check");
  execFileSync("npx", args, { stdio: "inherit" });
}
