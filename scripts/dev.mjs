// `npm run dev`: the whole stack in one local `wrangler dev` (api + processor + embedder).
// Queues and the cross-worker UserHub binding only connect when all three configs run
// in one process, and local state only lines up when `d1 migrations apply` and
// `wrangler dev` share one --persist-to.
//
// Env: PORT (8787), DARKROOM_IP (127.0.0.1), DARKROOM_STATE_DIR (.wrangler/state),
// DARKROOM_SWEEP_SECONDS (30; 0 turns the local sweeper off),
// DARKROOM_UPLOAD_ORIGIN (sets LOCAL_UPLOAD_ORIGIN, e.g. http://127.0.0.1:8787 to make
// the page at localhost upload cross-origin like it does to R2 in production),
// DARKROOM_UPLOAD_MODE (local; r2 runs the production presigned-PUT path, see below),
// DARKROOM_WORKERS (api,processor,embedder; a shorter list starting with api runs fewer),
// DARKROOM_FAULTS (fault injection for `npm run load -- --chaos`; never set otherwise),
// DARKROOM_API_LIMITS (the api's limits for this run, e.g. "MAX_SOCKETS_PER_USER=40"),
// and the lifecycle timeouts in LIFECYCLE_VARS (e.g. PROCESSING_LEASE_SECONDS=15): set
// here, they override every worker's wrangler.toml for this run.
import { appendFileSync, copyFileSync, existsSync, readFileSync } from "node:fs";
import path from "node:path";
import {
  applyMigrations,
  assertPortFree,
  buildWeb,
  checkPort,
  fail,
  log,
  root,
  runWranglerDev,
  wranglerEnv,
} from "./lib/dev-runner.mjs";
import { LOCAL_S3_PATH, localS3Credentials } from "./lib/local-s3.mjs";

const WORKERS = {
  api: "wrangler.toml",
  processor: "workers/processor/wrangler.toml",
  embedder: "workers/embedder/wrangler.toml",
};
// DARKROOM_WORKERS=api runs the api alone (benchmarks of the api without processing);
// the api must come first: it owns the migrations and the state folder.
const only = (process.env.DARKROOM_WORKERS ?? "api,processor,embedder").split(",");
if (only[0] !== "api" || only.some((w) => !Object.hasOwn(WORKERS, w))) {
  fail(`DARKROOM_WORKERS must start with api and name only ${Object.keys(WORKERS).join(", ")}`);
}
const configs = only.map((w) => WORKERS[w]);
const port = Number(process.env.PORT || 8787);
const ip = process.env.DARKROOM_IP || "127.0.0.1";
const stateDir = path.resolve(root, process.env.DARKROOM_STATE_DIR || ".wrangler/state");
const sweepSeconds = Number(process.env.DARKROOM_SWEEP_SECONDS ?? 30);
const uploadMode = process.env.DARKROOM_UPLOAD_MODE || "local";
// The lifecycle timeouts (packages/shared/src/lifecycle/leases.ts and the api's pending idle time):
// the api's sweeper reads all of them, the processor and the embedder their lease. The
// load test's chaos run shortens them so what a crash lost comes home in seconds.
const LIFECYCLE_VARS = [
  "PENDING_IDLE_SECONDS",
  "UPLOADED_IDLE_SECONDS",
  "PROCESSING_LEASE_SECONDS",
  "PROCESSED_IDLE_SECONDS",
  "EMBED_LEASE_SECONDS",
  "DELETING_STALE_SECONDS",
];
const timingOverrides = LIFECYCLE_VARS.filter((name) => process.env[name]);

checkPort(port);
if (uploadMode !== "local" && uploadMode !== "r2") {
  fail(`DARKROOM_UPLOAD_MODE must be local or r2, not ${uploadMode}`);
}
if (!Number.isFinite(sweepSeconds) || sweepSeconds < 0) {
  fail(`DARKROOM_SWEEP_SECONDS must be a number of seconds, not ${sweepSeconds}`);
}
for (const name of timingOverrides) {
  // The workers refuse anything else too, but only when a message reaches them.
  if (!/^\d+(\.\d+)?$/.test(process.env[name].trim()) || Number(process.env[name]) <= 0) {
    fail(`${name} must be a positive number of seconds, not ${process.env[name]}`);
  }
}

const env = wranglerEnv(stateDir);

// Secrets: wrangler reads `.dev.vars` next to each config. Only the api has secrets
// today; a worker folder that gains a `.dev.vars.example` gets its copy too.
for (const config of configs) {
  const dir = path.join(root, path.dirname(config));
  const example = path.join(dir, ".dev.vars.example");
  const vars = path.join(dir, ".dev.vars");
  if (existsSync(example) && !existsSync(vars)) {
    copyFileSync(example, vars);
    log(`created ${path.relative(root, vars)} from ${path.relative(root, example)}`);
  } else if (existsSync(example)) {
    // A secret added to the example since this .dev.vars was made (TICKET_SIGNING_SECRET):
    // appended with its example value, never overwriting one the person has set.
    const have = new Set(dotenvNames(readFileSync(vars, "utf8")));
    const missing = readFileSync(example, "utf8")
      .split("\n")
      .filter((line) => dotenvNames(line).some((name) => !have.has(name)));
    if (missing.length > 0) {
      appendFileSync(vars, `\n${missing.join("\n")}\n`);
      log(`added ${dotenvNames(missing.join("\n")).join(", ")} to ${path.relative(root, vars)}`);
    }
  }
}

/** The names a dotenv text assigns (NAME=value lines; comments and blanks skipped). */
function dotenvNames(text) {
  return [...text.matchAll(/^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=/gm)].map((m) => m[1]);
}

await assertPortFree(port, ip);

await buildWeb(env);
await applyMigrations({ config: configs[0], stateDir, env });

const devArgs = ["dev", ...configs.flatMap((c) => ["-c", c])];
devArgs.push("--port", String(port), "--ip", ip, "--persist-to", stateDir);
devArgs.push("--show-interactive-dev-session=false");
// wrangler.toml allows uploads from the page's origins on port 8787; follow $PORT.
if (port !== 8787) {
  devArgs.push("--var", `CORS_ALLOWED_ORIGINS:http://localhost:${port},http://127.0.0.1:${port}`);
}
// Fault injection for the load test's chaos run only (packages/shared/src/faults.ts), and
// lifecycle timeouts. Measured with wrangler 4.164: `--var` and `--env-file` reach only
// the first config (the api, which reads its `.dev.vars` and not process.env), while a
// secondary worker without a `.dev.vars` of its own (processor, embedder) reads its vars
// from process.env, over its wrangler.toml [vars], when CLOUDFLARE_INCLUDE_PROCESS_ENV is
// on. So a timing goes to the api as `--var` and to the others through the environment.
if (process.env.DARKROOM_FAULTS) {
  env.CLOUDFLARE_INCLUDE_PROCESS_ENV = "true";
  log(`fault injection on: ${process.env.DARKROOM_FAULTS}`);
}
if (timingOverrides.length > 0) {
  env.CLOUDFLARE_INCLUDE_PROCESS_ENV = "true";
  for (const name of timingOverrides) devArgs.push("--var", `${name}:${process.env[name].trim()}`);
  log(`lifecycle timings: ${timingOverrides.map((n) => `${n}=${process.env[n]}`).join(" ")}`);
}
if (process.env.DARKROOM_UPLOAD_ORIGIN) {
  devArgs.push("--var", `LOCAL_UPLOAD_ORIGIN:${process.env.DARKROOM_UPLOAD_ORIGIN}`);
}
// The api's limits for this run (workers/api/src/lib/limits.ts names each var; the api
// refuses a malformed value itself), e.g. the hub benchmark's sockets reopened per burst.
for (const pair of (process.env.DARKROOM_API_LIMITS ?? "").split(",").filter((p) => p.trim())) {
  const m = /^\s*([A-Z][A-Z0-9_]*)=([^,\s]+)\s*$/.exec(pair);
  if (!m) fail(`DARKROOM_API_LIMITS must be NAME=value pairs separated by commas, not "${pair}"`);
  devArgs.push("--var", `${m[1]}:${m[2]}`);
  log(`api limit: ${m[1]}=${m[2]}`);
}
// DARKROOM_UPLOAD_MODE=r2: the production upload path. The api presigns S3 PutObject URLs
// exactly as in production, pointed at wrangler dev's local S3 endpoint for the bucket,
// which checks their SigV4 signatures with the keys of the bucket's `local_dev` in
// wrangler.toml and writes to the same local bucket the workers read. Nothing sends R2's
// event notification locally: whoever PUTs must pass it on (POST /api/dev/r2-notification).
if (uploadMode === "r2") {
  let keys;
  try {
    keys = localS3Credentials(configs[0]);
  } catch (err) {
    fail(err.message);
  }
  const { accessKeyId, secretAccessKey } = keys;
  const origin = process.env.DARKROOM_UPLOAD_ORIGIN || `http://127.0.0.1:${port}`;
  devArgs.push("--var", "UPLOAD_MODE:r2");
  devArgs.push("--var", `R2_S3_ENDPOINT:${origin}${LOCAL_S3_PATH}`);
  devArgs.push("--var", `R2_ACCESS_KEY_ID:${accessKeyId}`);
  devArgs.push("--var", `R2_SECRET_ACCESS_KEY:${secretAccessKey}`);
  log(`upload mode r2: presigned PUTs to ${origin}${LOCAL_S3_PATH}`);
}
// Who sees the Ops tab (OPERATOR_SUBS defaults to nobody: workers/api/src/lib/config.ts).
if (process.env.OPERATOR_SUBS) {
  devArgs.push("--var", `OPERATOR_SUBS:${process.env.OPERATOR_SUBS}`);
  log(`operators: ${process.env.OPERATOR_SUBS}`);
}

await runWranglerDev({ devArgs, env, port, ip, sweepSeconds, stateDir });
