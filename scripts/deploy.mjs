// `npm run deploy`: production. Migrations first (new code may need new columns), then
// the bucket's CORS rule (browsers PUT straight to R2), then the workers, the api first
// because it defines the UserHub class the other two bind to by script name.
// `--dry-run` bundles all three for production into dist/<worker> and touches nothing
// remote, so it works offline (CI runs it).
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const workers = [
  { name: "api", config: "wrangler.toml" },
  { name: "processor", config: "workers/processor/wrangler.toml" },
  { name: "embedder", config: "workers/embedder/wrangler.toml" },
];
const BUCKET = "darkroom-originals";
const CORS_FILE = "r2-cors.json";

const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== "--dry-run");
if (unknown.length > 0) fail(`unknown argument(s): ${unknown.join(" ")} (only --dry-run)`);
const dryRun = args.includes("--dry-run");

const env = {
  ...process.env,
  // The repo's wrangler and the Node 22 next to it, even when started with the system Node.
  PATH: `${path.join(root, "node_modules", ".bin")}${path.delimiter}${process.env.PATH ?? ""}`,
};
if (dryRun) {
  env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
  env.WRANGLER_SEND_METRICS ??= "false";
}

checkCorsMatchesConfig();
// The api worker serves public/ (the built web app, gitignored): build it first.
const web = spawnSync(process.execPath, [path.join(root, "web", "build.mjs")], {
  cwd: root,
  stdio: "inherit",
});
if (web.status !== 0) fail(`building the web app failed (exit ${web.status ?? web.signal})`);
const placeholders = workers.filter((w) => read(w.config).includes("REPLACE_WITH_"));

if (dryRun) {
  for (const w of workers) {
    // Absolute: wrangler resolves a relative --outdir against the config's folder for the
    // bundle but against the working directory for its README.
    const outdir = path.join(root, "dist", w.name);
    // A stale bundle from an older layout must not pass for this one.
    rmSync(outdir, { recursive: true, force: true });
    wrangler(["deploy", "--dry-run", "--env", "production", "--outdir", outdir, "-c", w.config]);
  }
  for (const w of placeholders) {
    console.warn(`deploy: note: ${w.config} still has REPLACE_WITH_ placeholders for production`);
  }
  console.log(`deploy: dry run bundled ${workers.map((w) => `dist/${w.name}`).join(", ")}`);
} else {
  if (placeholders.length > 0) {
    fail(
      `fill in the REPLACE_WITH_ placeholders of [env.production] first: ${placeholders
        .map((w) => w.config)
        .join(", ")}`,
    );
  }
  wrangler(["d1", "migrations", "apply", "darkroom", "--remote", "--env", "production"]);
  wrangler(["r2", "bucket", "cors", "set", BUCKET, "--file", CORS_FILE, "--force"]);
  for (const w of workers) wrangler(["deploy", "--env", "production", "-c", w.config]);
  console.log("deploy: done");
}

function wrangler(wranglerArgs) {
  console.log(`deploy: wrangler ${wranglerArgs.join(" ")}`);
  const r = spawnSync("wrangler", wranglerArgs, { cwd: root, env, stdio: "inherit" });
  if (r.error) fail(`could not start wrangler: ${r.error.message}`);
  if (r.status !== 0) fail(`wrangler ${wranglerArgs[0]} failed (exit ${r.status ?? r.signal})`);
}

/**
 * The bucket must allow exactly the origins the api allows (CORS_ALLOWED_ORIGINS of
 * [env.production.vars]); one edited without the other breaks uploads only in production.
 */
function checkCorsMatchesConfig() {
  const toml = read("wrangler.toml");
  const section = toml.slice(toml.indexOf("[env.production.vars]"));
  const m = /^CORS_ALLOWED_ORIGINS\s*=\s*"([^"]*)"/m.exec(section);
  if (!toml.includes("[env.production.vars]") || !m?.[1]) {
    fail("wrangler.toml has no CORS_ALLOWED_ORIGINS under [env.production.vars]");
  }
  const fromConfig = m[1]
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .sort();
  const cors = JSON.parse(read(CORS_FILE));
  const fromBucket = [
    ...new Set((cors.rules ?? []).flatMap((r) => r.allowed?.origins ?? [])),
  ].sort();
  if (JSON.stringify(fromConfig) !== JSON.stringify(fromBucket)) {
    fail(
      `${CORS_FILE} allows ${fromBucket.join(", ") || "no origin"} but production ` +
        `CORS_ALLOWED_ORIGINS is ${fromConfig.join(", ")}; make them the same`,
    );
  }
}

function read(file) {
  return readFileSync(path.join(root, file), "utf8");
}

function fail(message) {
  console.error(`deploy: ${message}`);
  process.exit(1);
}
