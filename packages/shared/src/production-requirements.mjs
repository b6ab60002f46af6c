// What a production deployment needs, in one list: the secrets a deployer sets with
// `wrangler secret put` and the vars of `[env.production.vars]`, each with why and how it
// is checked. Plain JavaScript (typed by production-requirements.d.mts) because three
// kinds of reader use it: the api worker checks itself at start-up (a 503 naming what is
// missing, workers/api/src/lib/config/production-config.ts), `npm run deploy -- --check` checks a
// deployer's config and secrets before anything is deployed (scripts/lib/deploy-config.mjs),
// and a test holds README's "Production setup" step 8 to PRODUCTION_SECRETS
// (test/scripts/readme-production.test.ts). One list, so none of them can drift.

/** Most shards a deployment may name (packages/shared/src/lifecycle/shards.ts has the same). */
export const MAX_SHARDS = 1024;

/** A secret shorter than this is refused: 32 random bytes is the floor for an HMAC key. */
export const SECRET_MIN_BYTES = 32;

/**
 * An R2 Access Key ID is the id of the R2 API token it belongs to: 32 hex characters
 * (its Secret Access Key is the SHA-256 of the token's value, 64 hex characters).
 * https://developers.cloudflare.com/r2/api/tokens/ ("Get S3 API credentials from an API token")
 */
export const R2_ACCESS_KEY_ID_PATTERN = /^[0-9a-f]{32}$/i;

/**
 * The jurisdictions an R2 bucket can be created in; each has its own S3 endpoint,
 * `https://<ACCOUNT_ID>.<jurisdiction>.r2.cloudflarestorage.com`, and a Worker reaches the
 * bucket only through a binding that names it (`jurisdiction = "eu"`).
 * https://developers.cloudflare.com/r2/reference/data-location/#jurisdictional-restrictions
 * https://developers.cloudflare.com/r2/api/tokens/ (jurisdiction-specific endpoints)
 * https://developers.cloudflare.com/changelog/post/2026-08-17-r2-us-jurisdiction/ (`us`)
 */
export const R2_JURISDICTIONS = ["eu", "fedramp", "us"];

/**
 * The secret values of .dev.vars.example. They are public (committed), so a production
 * worker refuses to start when any secret it reads, or one it never reads but a deployer
 * may have copied over, carries one of them. test/scripts/production-requirements.test.ts
 * holds this table to the file.
 */
export const DEV_SECRET_VALUES = {
  AUTH_SECRET: "dev-only-secret-change-me-0123456789abcdef",
  UPLOAD_SIGNING_SECRET: "dev-only-upload-signing-secret-0123456789",
  MEDIA_SIGNING_SECRET: "dev-only-media-signing-secret-0123456789",
  TICKET_SIGNING_SECRET: "dev-only-ticket-signing-secret-0123456789",
};

const bytes = (s) => new TextEncoder().encode(s).length;

/** A loopback host: a deployed worker cannot reach it, so a URL there can only fail closed. */
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * https, or http on a loopback host for the local production-parity stack (never when
 * `deploying`: a deployed worker cannot reach this machine).
 */
function urlProblem(value, { deploying }) {
  let u;
  try {
    u = new URL(value);
  } catch {
    return `is not a URL ("${value}")`;
  }
  if (u.protocol === "https:") return null;
  if (u.protocol === "http:" && LOOPBACK.has(u.hostname) && !deploying) return null;
  return `must be an https URL ("${value}")`;
}

/** @param {string} value */
function secretProblem(value) {
  const n = bytes(value);
  if (n < SECRET_MIN_BYTES) {
    return `is ${n} bytes; it must be at least ${SECRET_MIN_BYTES} random bytes (e.g. openssl rand -base64 32)`;
  }
  return null;
}

/**
 * @typedef {{ deploying: boolean }} CheckContext
 * @typedef {{ name: string, workers: string[], why: string, optional?: boolean,
 *   check: (value: string, ctx: CheckContext) => string | null }} Requirement
 */

/** Set with `npx wrangler secret put <name> --env production`; README step 8 lists them. */
/** @type {Requirement[]} */
export const PRODUCTION_SECRETS = [
  {
    name: "MEDIA_SIGNING_SECRET",
    workers: ["api"],
    why: "signs the short-lived URLs of thumbnails and previews (GET /api/media)",
    check: secretProblem,
  },
  {
    name: "TICKET_SIGNING_SECRET",
    workers: ["api"],
    why: "signs the single-use WebSocket tickets of live progress (POST /api/events/ticket)",
    check: secretProblem,
  },
  {
    name: "R2_ACCESS_KEY_ID",
    workers: ["api"],
    why: "the R2 API token's Access Key ID that presigns browser PUTs straight to the bucket",
    check: (value) =>
      R2_ACCESS_KEY_ID_PATTERN.test(value)
        ? null
        : `is not an R2 Access Key ID (32 hex characters, the id of an R2 API token)`,
  },
  {
    name: "R2_SECRET_ACCESS_KEY",
    workers: ["api"],
    why: "the R2 API token's Secret Access Key that presigns browser PUTs",
    check: secretProblem,
  },
];

/** Set in `[env.production.vars]` of the root wrangler.toml. */
/** @type {Requirement[]} */
export const PRODUCTION_VARS = [
  {
    name: "DEV_LOGIN",
    workers: ["api"],
    why: 'the dev routes (/api/dev/*) and local HS256 tokens exist only where it is "true"',
    check: (value) => (value === "false" ? null : `must be "false" (is "${value}")`),
  },
  {
    name: "UPLOAD_MODE",
    workers: ["api"],
    why: '"r2": browsers PUT to the bucket with presigned URLs, R2 announces each object',
    check: (value) => (value === "r2" ? null : `must be "r2" (is "${value}")`),
  },
  {
    name: "AUTH_JWKS_URL",
    workers: ["api"],
    why: "the identity provider's key set: every bearer token is verified against it",
    check: urlProblem,
  },
  {
    name: "AUTH_ISSUER",
    workers: ["api"],
    why: "a token's `iss` must equal it, else a token of any issuer using these keys passes",
    check: urlProblem,
  },
  {
    name: "AUTH_AUDIENCE",
    workers: ["api"],
    why: "a token's `aud` must contain it, else a token minted for another app passes",
    check: () => null,
  },
  {
    name: "R2_ACCOUNT_ID",
    workers: ["api"],
    why: "the account whose S3 endpoint presigned PUTs go to",
    check: (value) =>
      /^[0-9a-f]{32}$/i.test(value) ? null : `is not an account id (32 hex characters)`,
  },
  {
    name: "CORS_ALLOWED_ORIGINS",
    workers: ["api"],
    why: "the origins allowed to upload: the api's CORS and the bucket's CORS rule",
    check: (value, ctx) => {
      for (const o of value.split(",").map((s) => s.trim())) {
        if (!o) return "has an empty entry";
        const p = urlProblem(o, ctx);
        if (p) return `entry ${p.replace(/^must be an https URL/, "must be an https origin")}`;
        if (new URL(o).origin !== o) return `entry "${o}" is not an origin (no path, no slash)`;
      }
      return null;
    },
  },
  {
    name: "DB_SHARDS",
    workers: ["api", "processor", "embedder"],
    why:
      "how many D1 shards (bindings DB_<n> for n from 0 to N - 1, each with its Vectorize index per kind) hold users' rows; " +
      "the same in the three wrangler.toml files (README step 2). Choose N for the photos expected " +
      "over the next year: ~3.4 KB of D1 per photo (docs/benchmarks.md, bench:scale) puts ~3 M photos " +
      "in a 10 GB database, so N = photos / 2 M keeps each shard a third empty; an index holds 10 M " +
      "vectors, far more than a shard's photos. Grow it by adding shards: new users go to them, " +
      "existing users stay where the directory put them",
    check: (value) =>
      /^\d+$/.test(value.trim()) && Number(value) >= 1 && Number(value) <= MAX_SHARDS
        ? null
        : `must be a whole number from 1 to ${MAX_SHARDS} (is "${value}")`,
  },
  {
    name: "R2_JURISDICTION",
    workers: ["api"],
    optional: true,
    why: "empty, or the bucket's jurisdiction (every R2 binding carries it too; the S3 endpoint follows it)",
    check: (value) =>
      value === "" || R2_JURISDICTIONS.includes(value)
        ? null
        : `must be empty or one of ${R2_JURISDICTIONS.join(", ")} (is "${value}")`,
  },
];

/** Where the deployer sets each kind, for the message. */
const HOW = {
  secret: (name) => `npx wrangler secret put ${name} --env production`,
  var: () => "wrangler.toml [env.production.vars]",
};

/**
 * Everything missing or unsafe in `env` (a worker's env, or the deploy check's vars plus
 * the secrets it was given) for `worker`. Pure: no I/O, so the worker, the deploy check
 * and the tests share it.
 *
 * @param {Record<string, unknown>} env
 * @param {{ worker?: string, deploying?: boolean, secrets?: boolean }} [options]
 *   `secrets: false` leaves the secrets out (the deploy check when it was given none).
 * @returns {{ name: string, kind: "secret" | "var", message: string }[]}
 */
export function checkProductionConfig(env, options = {}) {
  const { worker = "api", deploying = false, secrets = true } = options;
  const ctx = { deploying };
  const out = [];
  const kinds = [
    ...(secrets ? PRODUCTION_SECRETS.map((r) => ["secret", r]) : []),
    ...PRODUCTION_VARS.map((r) => ["var", r]),
  ];
  for (const [kind, r] of kinds) {
    if (!r.workers.includes(worker)) continue;
    const raw = env[r.name];
    const value = typeof raw === "string" ? raw.trim() : "";
    if (value === "") {
      if (r.optional) continue;
      out.push({
        name: r.name,
        kind,
        message: `${r.name} is not set (${HOW[kind](r.name)}): ${r.why}`,
      });
      continue;
    }
    const problem = r.check(value, ctx);
    if (problem) out.push({ name: r.name, kind, message: `${r.name} ${problem}` });
  }
  // A public development value is never a production secret, wherever it was copied to.
  for (const [name, dev] of Object.entries(DEV_SECRET_VALUES)) {
    if (worker === "api" && env[name] === dev) {
      out.push({
        name,
        kind: "secret",
        message: `${name} is the public development value from .dev.vars.example; a production worker never accepts it`,
      });
    }
  }
  return out;
}

/** One line for a log or an error body: every problem, in list order. */
export function describeProblems(problems) {
  return `This deployment is misconfigured: ${problems.map((p) => p.message).join("; ")}`;
}
