// What `npm run deploy` checks before it touches anything, and the bucket CORS rule it
// applies. Pure functions over the parsed wrangler.toml files, so test/scripts can feed
// them any configuration.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";
import {
  checkProductionConfig,
  PRODUCTION_SECRETS,
} from "@darkroom/shared/production-requirements";
import { parse } from "smol-toml";
import { shardProblems } from "./deploy-shards.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));

export const WORKER_CONFIGS = [
  { name: "api", config: "wrangler.toml" },
  { name: "processor", config: "workers/processor/wrangler.toml" },
  { name: "embedder", config: "workers/embedder/wrangler.toml" },
];

/** The bucket CORS rule without its origins: those come from CORS_ALLOWED_ORIGINS only. */
export const UPLOAD_CORS_FILE = "upload-cors.json";

/** @returns {{ name: string, config: string, toml: any }[]} */
export function readConfigs(dir = root) {
  return WORKER_CONFIGS.map((w) => ({
    ...w,
    toml: parse(readFileSync(path.join(dir, w.config), "utf8")),
  }));
}

export function readUploadCors(dir = root) {
  return JSON.parse(readFileSync(path.join(dir, UPLOAD_CORS_FILE), "utf8"));
}

/** Values a person must replace before a deploy can work. */
const PLACEHOLDERS = [
  { re: /REPLACE_WITH_/, what: "a REPLACE_WITH_ placeholder" },
  { re: /(^|[/.@])example\.(com|org|net)\b/i, what: "an example.com placeholder domain" },
  { re: /^0{8}-0{4}-0{4}-0{4}-0{12}$/, what: "the all-zero placeholder id" },
];

const isPlaceholder = (value) => PLACEHOLDERS.some((p) => p.re.test(String(value)));

/** Every string under `value` with its path, e.g. `d1_databases[0].database_id`. */
function* strings(value, at) {
  if (typeof value === "string") yield [at, value];
  else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) yield* strings(v, `${at}[${i}]`);
  } else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) yield* strings(v, at ? `${at}.${k}` : k);
  }
}

export function placeholderProblems(configs) {
  const out = [];
  for (const c of configs) {
    for (const [at, value] of strings(c.toml.env?.production ?? {}, "")) {
      const hit = PLACEHOLDERS.find((p) => p.re.test(value));
      if (hit) out.push(`${c.config} [env.production] ${at} = "${value}" is ${hit.what}`);
    }
  }
  return out;
}

/** CORS_ALLOWED_ORIGINS of the api's production vars, split and trimmed. */
export function productionOrigins(configs) {
  const api = configs.find((c) => c.name === "api");
  const raw = api?.toml.env?.production?.vars?.CORS_ALLOWED_ORIGINS;
  if (typeof raw !== "string") return [];
  return raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Host names the api is served on in production (`routes`, custom domains or patterns). */
export function productionHosts(configs) {
  const api = configs.find((c) => c.name === "api");
  const routes = api?.toml.env?.production?.routes ?? [];
  return routes
    .map((r) => (typeof r === "string" ? r : r?.pattern))
    .filter((p) => typeof p === "string")
    .map((p) => p.replace(/\/.*$/, "").replace(/^\*\.?/, ""));
}

/**
 * The page's origin and the upload origins must line up: the api must have a route or
 * custom domain (else the page is on workers.dev, an origin nobody allowed), every origin
 * must be one a browser sends (scheme://host[:port], no path, no trailing slash, no
 * wildcard), and the page's own origin must be among them.
 */
export function originProblems(configs) {
  const out = [];
  const origins = productionOrigins(configs);
  const hosts = productionHosts(configs);
  if (origins.length === 0) {
    out.push("wrangler.toml [env.production.vars] CORS_ALLOWED_ORIGINS is missing or empty");
  }
  for (const o of origins) {
    let ok = false;
    try {
      const u = new URL(o);
      ok = u.origin === o && u.protocol === "https:" && !o.includes("*");
    } catch {
      ok = false;
    }
    if (!ok) {
      out.push(
        `CORS_ALLOWED_ORIGINS entry "${o}" is not an https origin as a browser sends it ` +
          `(https://host[:port], no path, no trailing slash, no wildcard)`,
      );
    }
  }
  if (hosts.length === 0) {
    out.push(
      "wrangler.toml [env.production] has no routes: add the domain the app is served on, " +
        'routes = [{ pattern = "photos.your-domain", custom_domain = true }]',
    );
  }
  for (const host of hosts) {
    if (!origins.includes(`https://${host}`)) {
      out.push(
        `the app is served on https://${host} ([env.production] routes) but ` +
          `CORS_ALLOWED_ORIGINS (${origins.join(", ") || "empty"}) does not allow it: ` +
          "its uploads would be refused by the bucket's CORS rule",
      );
    }
  }
  return out;
}

/** The rule template must not carry origins of its own: one list, in the var. */
export function templateProblems(template) {
  const rule = template?.rule;
  if (!rule || typeof rule !== "object") return [`${UPLOAD_CORS_FILE} has no "rule" object`];
  if (rule.allowed?.origins !== undefined) {
    return [
      `${UPLOAD_CORS_FILE} lists origins; remove them: the bucket's origins come from ` +
        "CORS_ALLOWED_ORIGINS of [env.production.vars] only",
    ];
  }
  return [];
}

/** The body of `wrangler r2 bucket cors set --file` (https://developers.cloudflare.com/r2/buckets/cors/). */
export function bucketCorsRules(template, origins) {
  const { rule } = template;
  return { rules: [{ ...rule, allowed: { ...rule.allowed, origins } }] };
}

/** The bucket name production uses (the api's binding); its databases: deploy-shards.mjs. */
export function productionNames(configs) {
  const prod = configs.find((c) => c.name === "api")?.toml.env?.production ?? {};
  return { bucket: prod.r2_buckets?.find((b) => b.binding === "BUCKET")?.bucket_name };
}

/** The api's `[env.production.vars]`. */
export function productionVars(configs) {
  return configs.find((c) => c.name === "api")?.toml.env?.production?.vars ?? {};
}

/**
 * The production requirements (packages/shared/src/production-requirements.mjs, the list
 * the workers check themselves against) applied to the api's production vars and, when
 * the deployer handed them over (`secrets` not null), its secrets. Remote secrets cannot
 * be read from here: `wrangler secret list` needs the network and shows names only.
 */
export function requirementProblems(configs, { secrets = null, allowPlaceholders = false } = {}) {
  const vars = productionVars(configs);
  return (
    checkProductionConfig(
      { ...vars, ...(secrets ?? {}) },
      { worker: "api", deploying: true, secrets: secrets !== null },
    )
      .filter((p) => !(allowPlaceholders && p.kind === "var" && isPlaceholder(vars[p.name])))
      // originProblems checks this var more closely here (against the routes, https only).
      .filter((p) => p.name !== "CORS_ALLOWED_ORIGINS")
      .map((p) =>
        p.kind === "var"
          ? `wrangler.toml [env.production.vars] ${p.message}`
          : `secret ${p.message}`,
      )
  );
}

/**
 * Queue-only and api workers alike stay off workers.dev in production: without
 * `workers_dev = false` wrangler asks interactively on an account without a workers.dev
 * subdomain (a CI deploy stops half-way), and otherwise gives each a public URL.
 * https://developers.cloudflare.com/workers/wrangler/configuration/#workersdev
 */
export function workersDevProblems(configs) {
  return configs
    .filter((c) => c.toml.env?.production?.workers_dev !== false)
    .map((c) => `${c.config} [env.production] needs workers_dev = false`);
}

/** Every production R2 binding of every worker: `[config, binding]` pairs. */
function productionBuckets(configs) {
  return configs.flatMap((c) =>
    (c.toml.env?.production?.r2_buckets ?? []).map((b) => ({ config: c.config, binding: b })),
  );
}

/**
 * A bucket in a jurisdiction is reached only through bindings that name it, its own S3
 * endpoint and `--jurisdiction` on every wrangler r2 command. One setting drives all of
 * it: R2_JURISDICTION of the api's production vars; every R2 binding must carry the same
 * `jurisdiction`, so a forgotten one is refused here rather than failing on first write.
 * https://developers.cloudflare.com/r2/reference/data-location/#jurisdictional-restrictions
 */
export function jurisdictionProblems(configs) {
  const wanted = productionJurisdiction(configs);
  const out = [];
  // Its value is checked with the other production vars (requirementProblems).
  for (const { config, binding } of productionBuckets(configs)) {
    const has = binding.jurisdiction ?? "";
    if (has !== wanted) {
      out.push(
        `${config} [env.production] r2_buckets ${binding.binding} has ` +
          `${has ? `jurisdiction = "${has}"` : "no jurisdiction"} but R2_JURISDICTION is ` +
          `${wanted ? `"${wanted}"` : "empty"}: set jurisdiction = "${wanted}" on every ` +
          "production R2 binding and R2_JURISDICTION to the same (or both to nothing)",
      );
    }
  }
  return out;
}

/** The bucket's jurisdiction ("" for none), from R2_JURISDICTION. */
export function productionJurisdiction(configs) {
  const j = productionVars(configs).R2_JURISDICTION;
  return typeof j === "string" ? j.trim() : "";
}

/** `--jurisdiction <j>` for wrangler r2 commands, or nothing. */
export function jurisdictionArgs(configs) {
  const j = productionJurisdiction(configs);
  return j ? ["--jurisdiction", j] : [];
}

/**
 * The R2 event notification: every new original (key suffix `/original`, not the
 * variants the processor writes back) to the queue the processor consumes.
 * https://developers.cloudflare.com/r2/buckets/event-notifications/
 */
export const NOTIFICATION_SUFFIX = "/original";

/** The queue R2 announces originals to: the api's UPLOADS_QUEUE (the processor consumes it). */
export function uploadsQueue(configs) {
  const prod = configs.find((c) => c.name === "api")?.toml.env?.production ?? {};
  return prod.queues?.producers?.find((p) => p.binding === "UPLOADS_QUEUE")?.queue;
}

/**
 * Whether `wrangler r2 bucket notification list` output already has our rule (queue and
 * suffix), so a re-deploy does not ask R2 for an overlapping second rule, which it refuses.
 * The output is labelled values per rule (`queue_name: …`, `suffix: …`), rules apart by a
 * blank line.
 */
export function hasNotificationRule(listOutput, queue, suffix = NOTIFICATION_SUFFIX) {
  return stripVTControlCharacters(listOutput)
    .split(/\n\s*\n/)
    .some((block) => {
      const field = (name) => new RegExp(`^\\s*${name}:\\s*(\\S+)\\s*$`, "m").exec(block)?.[1];
      return field("queue_name") === queue && field("suffix") === suffix;
    });
}

/** Dotenv text (`NAME=value`, `#` comments, optional quotes) to an object. */
export function parseDotenv(text) {
  const out = {};
  for (const line of text.split("\n")) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m) continue;
    const raw = m[2];
    const quoted = /^(["'])(.*)\1$/.exec(raw);
    out[m[1]] = quoted ? quoted[2] : raw;
  }
  return out;
}

/**
 * The secrets the deployer handed to the check: a `--secrets-file` (dotenv), else the
 * production secrets found in the environment, else null (nothing to check them with).
 */
export function suppliedSecrets({ file = null, environment = {} } = {}) {
  const names = PRODUCTION_SECRETS.map((s) => s.name);
  if (file !== null) return parseDotenv(readFileSync(file, "utf8"));
  const found = Object.fromEntries(
    names.filter((n) => typeof environment[n] === "string").map((n) => [n, environment[n]]),
  );
  return Object.keys(found).length > 0 ? found : null;
}

/** Everything that stops a deploy; `allowPlaceholders` only for offline dry runs (CI). */
export function deployProblems(
  configs,
  template,
  { allowPlaceholders = false, secrets = null } = {},
) {
  const names = productionNames(configs);
  return [
    ...(allowPlaceholders ? [] : placeholderProblems(configs)),
    ...originProblems(configs),
    ...templateProblems(template),
    ...(names.bucket ? [] : ["wrangler.toml [env.production] has no r2_buckets BUCKET binding"]),
    ...shardProblems(configs),
    ...requirementProblems(configs, { secrets, allowPlaceholders }),
    ...workersDevProblems(configs),
    ...jurisdictionProblems(configs),
  ];
}
