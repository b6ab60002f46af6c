// `npm run deploy`: production. First the checks (scripts/lib/deploy-config.mjs): no
// placeholder left in any [env.production], the api served on a route or custom domain
// whose origin CORS_ALLOWED_ORIGINS allows, every worker off workers.dev, one bucket
// jurisdiction everywhere, and the production requirements the workers check themselves
// against (packages/shared/src/production-requirements.mjs: DEV_LOGIN "false",
// UPLOAD_MODE "r2", issuer/audience/JWKS set, secrets long enough and not the dev ones).
// Then migrations (new code may need new columns) on every database, the directory and
// each shard (scripts/lib/deploy-shards.mjs: DB_SHARDS names how many), refusing to go on
// unless all of them end at the same migration, the bucket's CORS rule (browsers PUT
// straight to R2; generated from CORS_ALLOWED_ORIGINS and upload-cors.json, so the api and
// the bucket allow the same origins), then the workers, the api first because it defines
// the UserHub class the other two bind to by script name, and last the R2 event
// notification, once the processor that consumes its queue exists (R2's documentation
// asks for the consumer first).
//
// --check               the checks, and (unless --allow-placeholders) whether every database
//                       exists and all are at the same migration (wrangler d1 migrations
//                       list, read-only); nothing built, nothing written.
// --provision           creates on the account whatever the production config names and
//                       lacks: the directory and shard databases (their ids written into
//                       the three wrangler.toml files) and each shard's Vectorize indexes
//                       with the `uid` metadata index. Then run --check, then deploy.
// --dry-run             the checks, then all three bundles for production in dist/<worker>
//                       and the bucket rule in dist/r2-cors.json; nothing remote (offline).
// --allow-placeholders  with --check or --dry-run only: skip the placeholder check, for
//                       CI's offline dry run of the committed config (which cannot know
//                       anyone's account). A real deploy never skips it.
// --secrets-file <f>    the production secrets as dotenv (NAME=value lines), checked like
//                       the worker checks them. Without it, the production secrets found
//                       in the environment are checked; with neither, the check lists the
//                       secrets that must be set: remote secrets cannot be read from here
//                       (`wrangler secret list --env production` needs the network and
//                       shows names only), and the deployed api answers 503 `misconfigured`
//                       naming any that is missing.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PRODUCTION_SECRETS } from "@darkroom/shared/production-requirements";
import {
  bucketCorsRules,
  deployProblems,
  hasNotificationRule,
  jurisdictionArgs,
  NOTIFICATION_SUFFIX,
  productionNames,
  productionOrigins,
  readConfigs,
  readUploadCors,
  suppliedSecrets,
  UPLOAD_CORS_FILE,
  uploadsQueue,
  WORKER_CONFIGS,
} from "./lib/deploy-config.mjs";
import {
  migrationSkew,
  pendingMigrations,
  productionDatabases,
  productionIndexes,
  shardProblems,
  withDatabaseId,
} from "./lib/deploy-shards.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const FLAGS = ["--check", "--dry-run", "--allow-placeholders", "--provision"];

const args = process.argv.slice(2);
let secretsFile = null;
const secretsAt = args.indexOf("--secrets-file");
if (secretsAt !== -1) {
  secretsFile = args[secretsAt + 1] ?? null;
  if (!secretsFile || secretsFile.startsWith("--")) fail("--secrets-file needs a file name");
  args.splice(secretsAt, 2);
}
const unknown = args.filter((a) => !FLAGS.includes(a));
if (unknown.length > 0)
  fail(
    `unknown argument(s): ${unknown.join(" ")} (only ${FLAGS.join(", ")}, --secrets-file <file>)`,
  );
const checkOnly = args.includes("--check");
const provision = args.includes("--provision");
const dryRun = args.includes("--dry-run");
const allowPlaceholders = args.includes("--allow-placeholders");
if (allowPlaceholders && !checkOnly && !dryRun) {
  fail("--allow-placeholders only goes with --check or --dry-run; a real deploy never skips it");
}

const env = {
  ...process.env,
  // The repo's wrangler and the Node 22 next to it, even when started with the system Node.
  PATH: `${path.join(root, "node_modules", ".bin")}${path.delimiter}${process.env.PATH ?? ""}`,
};
if (provision) {
  provisionShards(readConfigs(root));
  process.exit(0);
}

const configs = readConfigs(root);
const template = readUploadCors(root);
let secrets;
try {
  secrets = suppliedSecrets({ file: secretsFile, environment: process.env });
} catch (err) {
  fail(`cannot read --secrets-file ${secretsFile}: ${err.message}`);
}
const problems = deployProblems(configs, template, { allowPlaceholders, secrets });
if (problems.length > 0) {
  fail(
    `not deploying; fix these in the production config first:\n${problems
      .map((p) => `  - ${p}`)
      .join("\n")}`,
  );
}
const { bucket } = productionNames(configs);
const databases = productionDatabases(configs);
const origins = productionOrigins(configs);
console.log(`deploy: config checked (uploads allowed from ${origins.join(", ")})`);
const secretNames = PRODUCTION_SECRETS.map((s) => s.name).join(", ");
if (secrets) {
  console.log(
    `deploy: secrets checked (${secretsFile ? `from ${secretsFile}` : "from the environment"})`,
  );
} else {
  console.log(
    `deploy: secrets not checked (none given: --secrets-file <dotenv> or the environment); ` +
      `these must be set with \`npx wrangler secret put <NAME> --env production\`: ${secretNames}. ` +
      "`npx wrangler secret list --env production` (network) shows which are; a missing one " +
      "makes the deployed api answer 503 misconfigured naming it",
  );
}
if (checkOnly) {
  // Offline CI (placeholders allowed) cannot reach an account; a real check asks it.
  if (!allowPlaceholders) {
    const skew = migrationSkew(pendingByDatabase());
    if (skew.length > 0) {
      fail(
        `the databases are at different migrations (a deploy stopped half-way; \`npm run deploy\` applies the rest):\n${skew.map((s) => `  - ${s}`).join("\n")}`,
      );
    }
    console.log(`deploy: ${databases.length} databases at the same migration`);
  }
  process.exit(0);
}

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
  const jurisdiction = jurisdictionArgs(configs);
  // The directory first, then each shard: one migration set for every database.
  for (const { name } of databases) {
    wrangler(["d1", "migrations", "apply", name, "--remote", "--env", "production"]);
  }
  const skew = migrationSkew(pendingByDatabase());
  if (skew.length > 0)
    fail(`not deploying: the databases did not all migrate:\n  - ${skew.join("\n  - ")}`);
  wrangler(["r2", "bucket", "cors", "set", bucket, "--file", corsFile, "--force", ...jurisdiction]);
  for (const w of WORKER_CONFIGS) wrangler(["deploy", "--env", "production", "-c", w.config]);
  // After the processor, its consumer, exists. Created once: R2 refuses a second,
  // overlapping rule, so a re-deploy finds it in the list and leaves it.
  const queue = uploadsQueue(configs);
  const list = wrangler(["r2", "bucket", "notification", "list", bucket, ...jurisdiction], {
    capture: true,
  });
  if (hasNotificationRule(list, queue)) {
    console.log(
      `deploy: the notification rule ${bucket} → ${queue} (*${NOTIFICATION_SUFFIX}) exists`,
    );
  } else {
    wrangler([
      "r2",
      "bucket",
      "notification",
      "create",
      bucket,
      "--event-type",
      "object-create",
      "--queue",
      queue,
      "--suffix",
      NOTIFICATION_SUFFIX,
      ...jurisdiction,
    ]);
  }
  console.log("deploy: done");
}

/** Each production database's migrations not applied yet (read-only; fails when one is missing). */
function pendingByDatabase() {
  return Object.fromEntries(
    databases.map(({ name }) => [
      name,
      pendingMigrations(
        wrangler(["d1", "migrations", "list", name, "--remote", "--env", "production"], {
          capture: true,
          failure: `cannot list the migrations of ${name}; does it exist? (\`npm run deploy -- --provision\`)`,
        }),
      ),
    ]),
  );
}

/**
 * Creates the databases and indexes the production config names and the account lacks,
 * and writes each new database's id into the three wrangler.toml files.
 */
function provisionShards(cfgs) {
  const layout = shardProblems(cfgs);
  if (layout.length > 0)
    fail(`not provisioning; fix the shard layout first:\n  - ${layout.join("\n  - ")}`);
  const existing = new Map(
    JSON.parse(wrangler(["d1", "list", "--json"], { capture: true })).map((d) => [d.name, d.uuid]),
  );
  for (const { name } of productionDatabases(cfgs)) {
    if (!existing.has(name)) wrangler(["d1", "create", name]);
  }
  const ids = new Map(
    JSON.parse(wrangler(["d1", "list", "--json"], { capture: true })).map((d) => [d.name, d.uuid]),
  );
  for (const c of cfgs) {
    const file = path.join(root, c.config);
    let text = readFileSync(file, "utf8");
    for (const { binding, name } of productionDatabases(cfgs)) {
      if (ids.has(name)) text = withDatabaseId(text, binding, ids.get(name));
    }
    writeFileSync(file, text);
  }
  const indexes = new Set(
    JSON.parse(wrangler(["vectorize", "list", "--json"], { capture: true })).map((v) => v.name),
  );
  for (const { name, dimensions } of productionIndexes(cfgs)) {
    if (indexes.has(name)) continue;
    wrangler(["vectorize", "create", name, `--dimensions=${dimensions}`, "--metric=cosine"]);
    // Before the first insert: every query filters on the owner (docs/operations.md, "Vectorize").
    wrangler(["vectorize", "create-metadata-index", name, "--property-name=uid", "--type=string"]);
  }
  console.log("deploy: provisioned; the ids are in the three wrangler.toml files (commit them)");
}

/** Runs wrangler; `capture` returns its stdout (also echoed) instead of streaming it. */
function wrangler(wranglerArgs, { capture = false, failure = null } = {}) {
  console.log(`deploy: wrangler ${wranglerArgs.join(" ")}`);
  const r = spawnSync("wrangler", wranglerArgs, {
    cwd: root,
    env,
    stdio: capture ? ["inherit", "pipe", "inherit"] : "inherit",
    encoding: "utf8",
  });
  if (r.error) fail(`could not start wrangler: ${r.error.message}`);
  if (capture) process.stdout.write(r.stdout ?? "");
  if (r.status !== 0) {
    fail(failure ?? `wrangler ${wranglerArgs[0]} failed (exit ${r.status ?? r.signal})`);
  }
  return r.stdout ?? "";
}

function fail(message) {
  console.error(`deploy: ${message}`);
  process.exit(1);
}
