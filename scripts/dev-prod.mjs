// `npm run dev:prod`: the production-parity stack. The three workers start from their
// committed `[env.production]` (wrangler dev --env production over configs derived in
// scripts/lib/parity-config.mjs, where every replacement is listed with why), given
// exactly the secrets of PRODUCTION_SECRETS and nothing else, with local stand-ins that
// speak the real protocols: an OpenID-style issuer with a real ES256 JWKS
// (scripts/lib/local-issuer.mjs), wrangler's local S3 endpoint for the presigned PUTs,
// local D1/R2/Queues/Durable Objects, and a notification bridge in place of R2's event
// notifications (scripts/lib/r2-bridge.mjs, dev:prod only, behind a token).
//
// Env: PORT (8787), DARKROOM_STATE_DIR (.wrangler/state-prod: beside `npm run dev`'s),
// DARKROOM_SWEEP_SECONDS (30; 0 off), OPERATOR_SUBS (who sees the Ops tab, as the
// production var), DARKROOM_PROD_WITHOUT (secret names left out, comma-separated: to see
// the configuration error a deployment missing one gets).
// `npm run -s token -- --prod <user>` prints a token of this stack's issuer.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { PRODUCTION_SECRETS } from "@darkroom/shared/production-requirements";
import { readConfigs } from "./lib/deploy-config.mjs";
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
import { startIssuer } from "./lib/local-issuer.mjs";
import { LOCAL_S3_PATH, localS3Credentials } from "./lib/local-s3.mjs";
import { PARITY_REPLACEMENTS, R2_BRIDGE, writeParityConfigs } from "./lib/parity-config.mjs";
import { startBridge } from "./lib/r2-bridge-poller.mjs";

const port = Number(process.env.PORT || 8787);
const ip = "127.0.0.1";
const stateDir = path.resolve(root, process.env.DARKROOM_STATE_DIR || ".wrangler/state-prod");
const sweepSeconds = Number(process.env.DARKROOM_SWEEP_SECONDS ?? 30);
const without = (process.env.DARKROOM_PROD_WITHOUT ?? "")
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean);
checkPort(port);
if (!Number.isFinite(sweepSeconds) || sweepSeconds < 0) {
  fail(`DARKROOM_SWEEP_SECONDS must be a number of seconds, not ${sweepSeconds}`);
}
const secretNames = PRODUCTION_SECRETS.map((s) => s.name);
for (const name of without) {
  if (!secretNames.includes(name)) {
    fail(`DARKROOM_PROD_WITHOUT names ${name}, not one of ${secretNames.join(", ")}`);
  }
}
mkdirSync(stateDir, { recursive: true });
await assertPortFree(port, ip);

// The page is on localhost, the S3 endpoint on 127.0.0.1: two origins, so every PUT is
// cross-origin as it is from the custom domain to R2.
const pageOrigin = `http://localhost:${port}`;
const s3Endpoint = `http://127.0.0.1:${port}${LOCAL_S3_PATH}`;
const s3Credentials = localS3Credentials();

// Secrets: random per state dir (kept, so restarts keep signed media URLs valid), the R2
// keys being the local S3 endpoint's. Exactly PRODUCTION_SECRETS: no AUTH_SECRET, no
// UPLOAD_SIGNING_SECRET.
const secretsFile = path.join(stateDir, "secrets.json");
const kept = existsSync(secretsFile) ? JSON.parse(readFileSync(secretsFile, "utf8")) : {};
const generated = {};
for (const name of secretNames) {
  if (name === "R2_ACCESS_KEY_ID") generated[name] = s3Credentials.accessKeyId;
  else if (name === "R2_SECRET_ACCESS_KEY") generated[name] = s3Credentials.secretAccessKey;
  else generated[name] = kept[name] ?? randomBytes(32).toString("base64url");
}
const bridgeToken = kept[R2_BRIDGE.tokenVar] ?? randomBytes(32).toString("base64url");
writeFileSync(
  secretsFile,
  `${JSON.stringify({ ...generated, [R2_BRIDGE.tokenVar]: bridgeToken }, null, 2)}\n`,
  {
    mode: 0o600,
  },
);
const secrets = Object.fromEntries(Object.entries(generated).filter(([k]) => !without.includes(k)));

const apiProduction = readConfigs().find((c) => c.name === "api")?.toml.env?.production;
const audience = apiProduction?.vars?.AUTH_AUDIENCE;
const bucketName = apiProduction?.r2_buckets?.find((b) => b.binding === "BUCKET")?.bucket_name;
if (!bucketName) fail("wrangler.toml [env.production] has no BUCKET r2_buckets binding");
if (!audience) fail("wrangler.toml [env.production.vars] has no AUTH_AUDIENCE");
const issuer = await startIssuer(stateDir, audience);
log(
  `local issuer ${issuer.issuer} (audience ${audience}); tokens: npm run -s token -- --prod <user>`,
);

const { workers: configs, bridge: bridgeConfig } = writeParityConfigs({
  outDir: path.join(stateDir, "configs"),
  pageOrigin,
  s3Endpoint,
  s3Credentials,
  issuer: issuer.issuer,
  jwksUrl: issuer.jwksUrl,
  operatorSubs: process.env.OPERATOR_SUBS ?? "",
  secrets,
  bridgeToken,
});
log("production config, except (scripts/lib/parity-config.mjs):");
for (const r of PARITY_REPLACEMENTS) log(`  - ${r.what}`);
log(`secrets given: ${Object.keys(secrets).join(", ") || "none"}`);
if (without.length > 0) log(`secrets left out (DARKROOM_PROD_WITHOUT): ${without.join(", ")}`);
log("search runs in text mode (no Workers AI or Vectorize offline)");

// The workers see only what the generated configs and their .dev.vars give them: not
// process.env, not the developer's .dev.vars (wrangler reads the one next to each config).
const env = wranglerEnv(stateDir, { ...process.env, CLOUDFLARE_INCLUDE_PROCESS_ENV: "false" });
await buildWeb(env);
await applyMigrations({ config: configs[0].config, stateDir, env, wranglerEnvName: "production" });

const devArgs = ["dev", ...configs.flatMap((c) => ["-c", c.config]), "--env", "production"];
devArgs.push("--port", String(port), "--ip", ip, "--persist-to", stateDir);
devArgs.push("--show-interactive-dev-session=false");

let bridge;
await runWranglerDev({
  devArgs,
  env,
  port,
  ip,
  sweepSeconds,
  stateDir,
  onReady: async (_base, stopping) => {
    try {
      bridge = await startBridge({
        config: bridgeConfig,
        env,
        stateDir,
        token: bridgeToken,
        bucketUrl: `${s3Endpoint}/${bucketName}`,
        s3Credentials,
        stopping,
      });
    } catch (err) {
      log(err.message);
      process.kill(process.pid, "SIGTERM");
    }
  },
  onStop: async () => {
    bridge?.stop();
    await issuer.close();
  },
});
