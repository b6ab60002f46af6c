// `npm run deploy`: production. First the checks (scripts/lib/deploy-config.mjs): no
// placeholder left in any [env.production], the api served on a route or custom domain
// whose origin CORS_ALLOWED_ORIGINS allows. Then migrations (new code may need new
// columns), the bucket's CORS rule (browsers PUT straight to R2; generated from
// CORS_ALLOWED_ORIGINS and upload-cors.json, so the api and the bucket allow the same
// origins), then the workers, the api first because it defines the UserHub class the
// other two bind to by script name.
//
// --check               the checks only; nothing built, nothing remote.
// --dry-run             the checks, then all three bundles for production in dist/<worker>
//                       and the bucket rule in dist/r2-cors.json; nothing remote (offline).
// --allow-placeholders  with --check or --dry-run only: skip the placeholder check, for
//                       CI's offline dry run of the committed config (which cannot know
//                       anyone's account). A real deploy never skips it.
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  bucketCorsRules,
  deployProblems,
  productionNames,
  productionOrigins,
  readConfigs,
  readUploadCors,
  UPLOAD_CORS_FILE,
  WORKER_CONFIGS,
} from "./lib/deploy-config.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const FLAGS = ["--check", "--dry-run", "--allow-placeholders"];

const args = process.argv.slice(2);
const unknown = args.filter((a) => !FLAGS.includes(a));
if (unknown.length > 0)
  fail(`unknown argument(s): ${unknown.join(" ")} (only ${FLAGS.join(", ")})`);
const checkOnly = args.includes("--check");
const dryRun = args.includes("--dry-run");
const allowPlaceholders = args.includes("--allow-placeholders");
if (allowPlaceholders && !checkOnly && !dryRun) {
  fail("--allow-placeholders only goes with --check or --dry-run; a real deploy never skips it");
}

const configs = readConfigs(root);
const template = readUploadCors(root);
const problems = deployProblems(configs, template, { allowPlaceholders });
if (problems.length > 0) {
  fail(
    `not deploying; fix these in the production config first:\n${problems
      .map((p) => `  - ${p}`)
      .join("\n")}`,
  );
}
const { bucket, database } = productionNames(configs);
const origins = productionOrigins(configs);
console.log(`deploy: config checked (uploads allowed from ${origins.join(", ")})`);
if (checkOnly) process.exit(0);

const env = {
  ...process.env,
  // The repo's wrangler and the Node 22 next to it, even when started with the system Node.
  PATH: `${path.join(root, "node_modules", ".bin")}${path.delimiter}${process.env.PATH ?? ""}`,
};
if (dryRun) {
  env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
  env.WRANGLER_SEND_METRICS ??= "false";
}

// The bucket's CORS rule, generated: the one list of origins is CORS_ALLOWED_ORIGINS.
const corsFile = path.join(root, "dist", "r2-cors.json");
mkdirSync(path.dirname(corsFile), { recursive: true });
writeFileSync(corsFile, `${JSON.stringify(bucketCorsRules(template, origins), null, 2)}\n`);

// The api worker serves public/ (the built web app, gitignored): build it first.
const web = spawnSync(process.execPath, [path.join(root, "web", "build.mjs")], {
  cwd: root,
  stdio: "inherit",
});
if (web.status !== 0) fail(`building the web app failed (exit ${web.status ?? web.signal})`);

if (dryRun) {
  for (const w of WORKER_CONFIGS) {
    // Absolute: wrangler resolves a relative --outdir against the config's folder for the
    // bundle but against the working directory for its README.
    const outdir = path.join(root, "dist", w.name);
    // A stale bundle from an older layout must not pass for this one.
    rmSync(outdir, { recursive: true, force: true });
    wrangler(["deploy", "--dry-run", "--env", "production", "--outdir", outdir, "-c", w.config]);
  }
  if (allowPlaceholders) {
    console.warn("deploy: note: placeholders not checked (--allow-placeholders)");
  }
  console.log(
    `deploy: dry run bundled ${WORKER_CONFIGS.map((w) => `dist/${w.name}`).join(", ")}; ` +
      `bucket rule in dist/r2-cors.json (from ${UPLOAD_CORS_FILE} + CORS_ALLOWED_ORIGINS)`,
  );
} else {
  wrangler(["d1", "migrations", "apply", database, "--remote", "--env", "production"]);
  wrangler(["r2", "bucket", "cors", "set", bucket, "--file", corsFile, "--force"]);
  for (const w of WORKER_CONFIGS) wrangler(["deploy", "--env", "production", "-c", w.config]);
  console.log("deploy: done");
}

function wrangler(wranglerArgs) {
  console.log(`deploy: wrangler ${wranglerArgs.join(" ")}`);
  const r = spawnSync("wrangler", wranglerArgs, { cwd: root, env, stdio: "inherit" });
  if (r.error) fail(`could not start wrangler: ${r.error.message}`);
  if (r.status !== 0) fail(`wrangler ${wranglerArgs[0]} failed (exit ${r.status ?? r.signal})`);
}

function fail(message) {
  console.error(`deploy: ${message}`);
  process.exit(1);
}
