// What `npm run deploy` checks before it touches anything, and the bucket CORS rule it
// applies. Pure functions over the parsed wrangler.toml files, so test/scripts can feed
// them any configuration.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "smol-toml";

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

/** The bucket and database names production uses (the api's bindings). */
export function productionNames(configs) {
  const prod = configs.find((c) => c.name === "api")?.toml.env?.production ?? {};
  return {
    bucket: prod.r2_buckets?.find((b) => b.binding === "BUCKET")?.bucket_name,
    database: prod.d1_databases?.find((d) => d.binding === "DB")?.database_name,
  };
}

/** Everything that stops a deploy; `allowPlaceholders` only for offline dry runs (CI). */
export function deployProblems(configs, template, { allowPlaceholders = false } = {}) {
  const names = productionNames(configs);
  return [
    ...(allowPlaceholders ? [] : placeholderProblems(configs)),
    ...originProblems(configs),
    ...templateProblems(template),
    ...(names.bucket ? [] : ["wrangler.toml [env.production] has no r2_buckets BUCKET binding"]),
    ...(names.database ? [] : ["wrangler.toml [env.production] has no d1_databases DB binding"]),
  ];
}
