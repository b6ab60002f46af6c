// `npm run dev:prod`'s wrangler configs, derived from the committed ones: each worker's
// `[env.production]` runs as written (its vars, bindings, DEV_LOGIN = "false",
// UPLOAD_MODE = "r2"; started with `--env production`, so wrangler resolves it as a deploy
// does) except what cannot run on this machine, replaced in PARITY_REPLACEMENTS below,
// the one list of differences, each with why. Plus one worker production does not have:
// the R2 notification bridge (R2_BRIDGE), which only this script's configs name.
//
// Platform facts relied on: `--env` makes wrangler take name/main/compatibility from the
// top level and every binding and var from the environment only
// (https://developers.cloudflare.com/workers/wrangler/environments/); local secrets come
// from the `.dev.vars` beside the config file, and with one there no `.env` is read
// (https://developers.cloudflare.com/workers/local-development/environment-variables);
// AI and Vectorize have no local simulation
// (https://developers.cloudflare.com/workers/local-development/bindings-per-env).
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "smol-toml";
import { readConfigs } from "./deploy-config.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** Local D1 keys its database by id: one id for the three workers, like production's one. */
export const LOCAL_D1_ID = "00000000-0000-0000-0000-00000000d1d1";

/** Shards of every local run (npm run dev's wrangler.toml has the same two). */
export const LOCAL_SHARDS = 2;

/** The local id of the database bound as `binding` (DIRECTORY, DB_0, DB_1…): distinct per binding. */
export function localD1Id(binding) {
  const n = binding === "DIRECTORY" ? 0 : Number(/^DB_(\d+)$/.exec(binding)?.[1] ?? Number.NaN) + 1;
  if (!Number.isInteger(n)) throw new Error(`unexpected D1 binding ${binding}`);
  return LOCAL_D1_ID.slice(0, -4) + n.toString(16).padStart(4, "0");
}

/** Shaped like an account id (32 hex characters), as the api checks; no account has it. */
export const LOCAL_ACCOUNT_ID = "0".repeat(32);

/**
 * The dev-only worker that stands in for R2's event notifications (scripts/lib/r2-bridge.mjs),
 * in a wrangler process of its own (its queue reaches the processor through the dev registry).
 */
export const R2_BRIDGE = {
  name: "darkroom-dev-r2-bridge",
  main: "scripts/lib/r2-bridge.mjs",
  /** Its credential: a secret binding of the bridge, a random value in the state dir. */
  tokenVar: "BRIDGE_TOKEN",
};

/**
 * Every difference between production and the parity stack. `apply(prod, ctx, worker)`
 * edits one worker's `[env.production]` in place; each entry says why it cannot run as
 * committed. Nothing else is touched.
 */
export const PARITY_REPLACEMENTS = [
  {
    what: "d1_databases[].database_id (REPLACE_WITH_D1_DATABASE_ID) → a local id per binding",
    why: "the real ids name databases on a Cloudflare account; local D1 needs one id per database (the directory and each shard), the same in the three workers",
    apply(prod) {
      for (const d of prod.d1_databases ?? []) d.database_id = localD1Id(d.binding);
    },
  },
  {
    what: `DB_SHARDS → ${LOCAL_SHARDS}, the shard bindings past it dropped`,
    why: 'every local run and every test runs two shards (DESIGN.md, "Sharding"); the production layout itself is what `npm run deploy -- --check` checks',
    apply(prod) {
      if (prod.vars?.DB_SHARDS !== undefined) prod.vars.DB_SHARDS = String(LOCAL_SHARDS);
      prod.d1_databases = (prod.d1_databases ?? []).filter((d) => {
        const n = /^DB_(\d+)$/.exec(d.binding)?.[1];
        return n === undefined || Number(n) < LOCAL_SHARDS;
      });
    },
  },
  {
    what: "R2_ACCOUNT_ID (REPLACE_WITH_ACCOUNT_ID) → a local id; R2_S3_ENDPOINT → wrangler's local S3 endpoint",
    why: "presigned PUTs go to the local bucket's S3 API (/cdn-cgi/local/r2/s3), on 127.0.0.1 while the page is on localhost, so every PUT is cross-origin as it is to R2",
    apply(prod, ctx) {
      if (!prod.vars) return;
      prod.vars.R2_ACCOUNT_ID = LOCAL_ACCOUNT_ID;
      prod.vars.R2_S3_ENDPOINT = ctx.s3Endpoint;
    },
  },
  {
    what: "r2_buckets[].local_dev → the local S3 keys of wrangler.toml",
    why: "the local S3 endpoint checks SigV4 with these keys; they are also the R2_ACCESS_KEY_ID/R2_SECRET_ACCESS_KEY secrets given here",
    apply(prod, ctx) {
      for (const b of prod.r2_buckets ?? []) {
        b.local_dev = { experimental_s3_credentials: ctx.s3Credentials };
      }
    },
  },
  {
    what: "AUTH_JWKS_URL, AUTH_ISSUER → the local issuer (scripts/lib/local-issuer.mjs)",
    why: "auth.example.com is a placeholder for the deployer's provider; the local one serves a real ES256 JWKS (AUTH_AUDIENCE stays as committed)",
    apply(prod, ctx) {
      if (!prod.vars || !("AUTH_JWKS_URL" in prod.vars)) return;
      prod.vars.AUTH_JWKS_URL = ctx.jwksUrl;
      prod.vars.AUTH_ISSUER = ctx.issuer;
    },
  },
  {
    what: "routes (the custom domain) → none; CORS_ALLOWED_ORIGINS → the local page origin",
    // wrangler 4.164's dev takes a route's host as the origin of every request
    // (--infer-origin-from-routes, on by default): the page would see darkroom.example.com.
    why: "no DNS here: the app is served on http://localhost:$PORT, which is then the one origin allowed to upload",
    apply(prod, ctx) {
      delete prod.routes;
      if (prod.vars && "CORS_ALLOWED_ORIGINS" in prod.vars) {
        prod.vars.CORS_ALLOWED_ORIGINS = ctx.pageOrigin;
      }
    },
  },
  {
    what: "ai, vectorize → dropped (search runs in `text` mode: D1 vectors and FTS5)",
    why: "Workers AI and Vectorize have no local emulation: offline `wrangler dev` asks for a login",
    apply(prod) {
      delete prod.ai;
      delete prod.vectorize;
    },
  },
  {
    what: "OPERATOR_SUBS → from the environment of `npm run dev:prod`, when set",
    why: "who operates is per deployment ([env.production.vars] in a real one)",
    apply(prod, ctx, worker) {
      if (worker === "api" && ctx.operatorSubs) {
        prod.vars = { ...prod.vars, OPERATOR_SUBS: ctx.operatorSubs };
      }
    },
  },
];

/** Paths in a config are relative to its file; the derived one lives in the state dir. */
function absolutePaths(section, configDir) {
  if (!section) return;
  if (typeof section.main === "string") section.main = path.resolve(configDir, section.main);
  if (section.assets?.directory) {
    section.assets.directory = path.resolve(configDir, section.assets.directory);
  }
  for (const d of section.d1_databases ?? []) {
    if (d.migrations_dir) d.migrations_dir = path.resolve(configDir, d.migrations_dir);
  }
}

/**
 * Writes `<outDir>/<worker>/wrangler.toml` for api, processor, embedder and the bridge,
 * each with its `.dev.vars`: the api gets `secrets` (exactly PRODUCTION_SECRETS), the
 * bridge its token, the others nothing. wrangler reads `.dev.vars` next to the config
 * only, so the developer's `.dev.vars` is never seen.
 * @returns {{ workers: { name: string, config: string }[], bridge: string }} api first
 */
export function writeParityConfigs(ctx) {
  const out = [];
  for (const c of readConfigs(root)) {
    const toml = structuredClone(c.toml);
    const configDir = path.dirname(path.join(root, c.config));
    absolutePaths(toml, configDir);
    const prod = toml.env?.production;
    if (!prod) throw new Error(`${c.config} has no [env.production]`);
    absolutePaths(prod, configDir);
    for (const r of PARITY_REPLACEMENTS) r.apply(prod, ctx, c.name);
    const secrets = c.name === "api" ? ctx.secrets : {};
    out.push({ name: c.name, config: writeConfig(ctx.outDir, c.name, toml, secrets) });
  }
  return { workers: out, bridge: writeBridgeConfig(ctx) };
}

function writeConfig(outDir, name, toml, secrets) {
  const dir = path.join(outDir, name);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "wrangler.toml");
  writeFileSync(
    file,
    `# Generated by scripts/dev-prod.mjs from the committed config; do not edit.\n${stringify(toml)}\n`,
  );
  const lines = Object.entries(secrets).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  writeFileSync(path.join(dir, ".dev.vars"), `${lines.join("\n")}\n`, { mode: 0o600 });
  return file;
}

/** The bridge: a producer of the queue the processor consumes, nothing else. */
function writeBridgeConfig(ctx) {
  const api = readConfigs(root).find((c) => c.name === "api")?.toml;
  const processor = readConfigs(root).find((c) => c.name === "processor")?.toml;
  const bucket = api?.env?.production?.r2_buckets?.find((b) => b.binding === "BUCKET");
  // The uploads queue is the processor's consumer that is not a dead-letter queue.
  const consumers = processor?.env?.production?.queues?.consumers ?? [];
  const dlqs = new Set(consumers.map((q) => q.dead_letter_queue).filter(Boolean));
  const uploads = consumers.find((q) => !dlqs.has(q.queue))?.queue;
  if (!bucket || !uploads) throw new Error("production config has no bucket or uploads queue");
  const prod = {
    name: R2_BRIDGE.name,
    queues: { producers: [{ binding: "UPLOADS_QUEUE", queue: uploads }] },
    vars: { BUCKET_NAME: bucket.bucket_name },
    workers_dev: false,
  };
  const toml = {
    name: R2_BRIDGE.name,
    main: path.join(root, R2_BRIDGE.main),
    compatibility_date: api.compatibility_date,
    compatibility_flags: api.compatibility_flags,
    env: { production: prod },
  };
  return writeConfig(ctx.outDir, "r2-bridge", toml, { [R2_BRIDGE.tokenVar]: ctx.bridgeToken });
}
