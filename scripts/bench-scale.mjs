// `npm run bench:scale`: how each user-facing call and the operator dashboard grow with
// the library (issue 22). One user's library is grown by cloning photos the local stack
// really processed (uploaded, decoded, resized, embedded: every table a photo fills, the
// full-text index and the counters' and rollups' triggers included) in the local D1, to
// BENCH_SMALL (2,000) and then BENCH_LARGE (200,000) photos; the stack is restarted after
// each growth and the same calls are timed (median of BENCH_SAMPLES after warm-ups).
// The clones' lifecycle times are spread over the last 23 hours, so all of them are in
// the 24-hour window of the ops metrics. Also: D1 bytes per photo (the growth of the
// local SQLite files over the clones) and the capacity that follows for N shards.
//
// Env: BENCH_SMALL (2000), BENCH_LARGE (200000), BENCH_SAMPLES (11), BENCH_PHOTOS (12:
// photos really processed, the clones' sources).
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parse } from "smol-toml";
import { createClient, uploadDirectory } from "../packages/cli/src/index.mjs";
import { generateSet } from "./lib/load/photo-set.mjs";
import { freePort, login, startStack } from "./lib/stack.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const SMALL = Number(process.env.BENCH_SMALL ?? 2000);
const LARGE = Number(process.env.BENCH_LARGE ?? 200_000);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 11);
const PHOTOS = Number(process.env.BENCH_PHOTOS ?? 12);
/** D1's maximum database size (Workers Paid): https://developers.cloudflare.com/d1/platform/limits/ */
const D1_MAX_BYTES = 10 * 1000 ** 3;
const OPERATOR = "bench-scale-ops";
/** A word in every clone's name, and one in five names only. */
const COMMON = "holiday";
const RARE = "zebra";
const CLONE_PREFIX = "bbbbbbbb";

const log = (m) => process.stderr.write(`bench:scale: ${m}\n`);
const run = promisify(execFile);

/** The local D1 databases of the api's wrangler.toml: the directory and every shard. */
function databaseNames() {
  const toml = parse(readFileSync(path.join(root, "wrangler.toml"), "utf8"));
  return (toml.d1_databases ?? []).map((d) => d.database_name);
}

async function d1(stateDir, database, sqlText) {
  const dir = mkdtempSync(path.join(tmpdir(), "darkroom-bench-sql-"));
  const file = path.join(dir, "q.sql");
  writeFileSync(file, sqlText);
  try {
    const { stdout } = await run(
      path.join(root, "node_modules", ".bin", "wrangler"),
      ["d1", "execute", database, "--local", "--persist-to", stateDir, "--file", file, "--json"],
      {
        cwd: root,
        maxBuffer: 64 * 2 ** 20,
        // node_modules/.bin first, as scripts/lib/dev-runner.mjs does: the `node` wrangler needs.
        env: {
          ...process.env,
          CI: "1",
          PATH: `${path.join(root, "node_modules", ".bin")}${path.delimiter}${process.env.PATH ?? ""}`,
        },
      },
    );
    return JSON.parse(stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Bytes of every local D1 file (databases and their write-ahead logs). */
function d1Bytes(stateDir) {
  let total = 0;
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.sqlite(-wal|-shm)?$/.test(e.name)) total += statSync(p).size;
    }
  };
  walk(path.join(stateDir, "v3", "d1"));
  return total;
}

/**
 * SQL that adds clones number `from`..`to` (inclusive) of the user's ready photos: every
 * row a processed photo has (asset, batch item, search document, features, vectors), with
 * its own id and hash, a name holding COMMON (and RARE for the first five), and its times
 * moved into the last 23 hours, one minute per clone, keeping the source's durations.
 */
function cloneSql(uid, from, to, now) {
  const ready = `ready_at_new`;
  const src = `src AS (SELECT *, ROW_NUMBER() OVER (ORDER BY id) - 1 AS i,
      COUNT(*) OVER () AS s FROM assets
      WHERE user_id = '${uid}' AND status = 'ready' AND id NOT LIKE '${CLONE_PREFIX}-%')`;
  const k = `k(n) AS (SELECT ${from} UNION ALL SELECT n + 1 FROM k WHERE n < ${to})`;
  const pairs = `c AS (SELECT k.n, src.*, printf('${CLONE_PREFIX}-%04x-4000-8000-%012x', src.i, k.n) AS cid,
      ${now} - (30 + k.n % 1380) * 60000 AS ${ready} FROM k JOIN src ON src.i = k.n % src.s)`;
  const head = `WITH RECURSIVE ${k}, ${src}, ${pairs}`;
  return `
INSERT INTO assets (id, user_id, batch_id, name, size, type, sha256, status, version, attempts,
  width, height, taken_at, camera_make, camera_model, variants, labels, caption, created_at,
  updated_at, caption_skipped, retries, status_at, uploaded_at, processed_at, ready_at, sweeps)
${head}
SELECT cid, user_id, batch_id,
  '${COMMON} ' || CASE WHEN n < 5 THEN '${RARE} ' ELSE '' END || n || ' ' || name,
  size, type, printf('%064x', n), 'ready', version, attempts, width, height, taken_at,
  camera_make, camera_model, variants, labels, caption,
  ${ready} - (ready_at - created_at), ${ready}, caption_skipped, 0, ${ready},
  ${ready} - (ready_at - uploaded_at), ${ready} - (ready_at - processed_at), ${ready}, 0
FROM c;
INSERT INTO batch_items (batch_id, asset_id, user_id, created_at)
${head}
SELECT batch_id, cid, user_id, ${ready} FROM c;
INSERT INTO search_docs (asset_id, user_id, user_key, name, exif, labels, caption)
${head}
SELECT c.cid, d.user_id, d.user_key,
  '${COMMON} ' || CASE WHEN c.n < 5 THEN '${RARE} ' ELSE '' END || c.n || ' ' || d.name,
  d.exif, d.labels, d.caption
FROM c JOIN search_docs AS d ON d.asset_id = c.id;
INSERT INTO asset_features (asset_id, user_id, phash, descriptor, descriptor_version, created_at)
${head}
SELECT c.cid, f.user_id, f.phash, f.descriptor, f.descriptor_version, c.${ready}
FROM c JOIN asset_features AS f ON f.asset_id = c.id;
INSERT INTO asset_vectors (kind, asset_id, user_id, vector)
${head}
SELECT v.kind, c.cid, v.user_id, v.vector FROM c JOIN asset_vectors AS v ON v.asset_id = c.id;
`;
}

async function json(url, token, init = {}) {
  const res = await fetch(url, {
    ...init,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
  });
  const body = await res.text();
  if (!res.ok)
    throw new Error(`${init.method ?? "GET"} ${url}: ${res.status} ${body.slice(0, 300)}`);
  return JSON.parse(body);
}

/** The median of `fn`'s wall time over SAMPLES runs, after two warm-ups. */
async function median(fn) {
  for (let i = 0; i < 2; i++) await fn();
  const times = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** Every call of the table, against the grown library. */
async function measure(url, token, opsToken) {
  const out = {};
  out["GET /api/stats"] = await median(() => json(`${url}/api/stats`, token));
  out["POST /api/uploads, 100 new files"] = await median(() =>
    json(`${url}/api/uploads`, token, {
      method: "POST",
      body: JSON.stringify({
        files: Array.from({ length: 100 }, (_, i) => ({
          clientId: `f${i}`,
          name: `new-${i}.jpg`,
          size: 1000 + i,
          type: "image/jpeg",
          sha256: randomBytes(32).toString("hex"),
        })),
      }),
    }),
  );
  out[`GET /api/search, a rare word (${RARE})`] = await median(() =>
    json(`${url}/api/search?q=${RARE}`, token),
  );
  out[`GET /api/search, a word in every name (${COMMON})`] = await median(() =>
    json(`${url}/api/search?q=${COMMON}`, token),
  );
  out["GET /api/assets?limit=100, first page"] = await median(() =>
    json(`${url}/api/assets?limit=100`, token),
  );
  const first = await json(`${url}/api/assets?limit=100`, token);
  const cursor = encodeURIComponent(first.nextCursor ?? "");
  out["GET /api/assets?limit=100, next page"] = await median(() =>
    json(`${url}/api/assets?limit=100&cursor=${cursor}`, token),
  );
  out["GET /api/ops/metrics?since=24h"] = await median(() =>
    json(`${url}/api/ops/metrics?since=24h`, opsToken),
  );
  return out;
}

async function waitProcessed(url, token) {
  const until = Date.now() + 15 * 60_000;
  for (;;) {
    const s = await json(`${url}/api/stats`, token);
    const busy = s.pending + s.uploaded + s.processing + s.processed + s.embedding;
    if (busy === 0 && s.ready > 0) return s;
    if (Date.now() > until) throw new Error(`photos not processed in time: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

const stateDir = mkdtempSync(path.join(tmpdir(), "darkroom-bench-scale-"));
const port = await freePort();
const stackOptions = { sweepSeconds: 0, stateDir, port, env: { OPERATOR_SUBS: OPERATOR } };
const user = `bench-scale-${randomBytes(4).toString("hex")}`;
const results = [];
let uid = "";
const bytes = { small: 0, large: 0 };
try {
  const { dir } = await generateSet({ files: PHOTOS, small: true, log });
  let stack = await startStack(stackOptions);
  try {
    const token = await login(stack.url, user);
    uid = (await json(`${stack.url}/api/me`, token).catch(() => ({}))).id ?? "";
    const manifestDir = mkdtempSync(path.join(tmpdir(), "darkroom-bench-manifest-"));
    await uploadDirectory({
      client: createClient({ url: stack.url, token }),
      dir,
      manifestPath: path.join(manifestDir, "manifest.jsonl"),
    });
    rmSync(manifestDir, { recursive: true, force: true });
    const s = await waitProcessed(stack.url, token);
    log(`${s.ready} photos really processed (${s.failed} failed, as the load set wants)`);
  } finally {
    await stack.stop();
  }
  const databases = databaseNames();
  if (!uid) {
    // The user id, from the database that holds their rows.
    for (const db of databases) {
      const [r] = await d1(
        stateDir,
        db,
        `SELECT user_id FROM assets GROUP BY user_id ORDER BY COUNT(*) DESC LIMIT 1`,
      );
      uid = r?.results?.[0]?.user_id ?? uid;
      if (uid) break;
    }
  }
  if (!/^[0-9a-f-]{36}$/.test(uid)) throw new Error(`no user id found (${uid})`);
  let have = 0;
  for (const [size, label] of [
    [SMALL, "small"],
    [LARGE, "large"],
  ]) {
    const now = Date.now();
    const before = d1Bytes(stateDir);
    const t0 = performance.now();
    // Every database: only the one holding the user's rows has sources to clone.
    for (const db of databases) await d1(stateDir, db, cloneSql(uid, have, size - 1, now));
    log(`grown to ~${size} photos in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    bytes[label] = d1Bytes(stateDir) - before;
    const added = size - have;
    have = size;
    stack = await startStack(stackOptions);
    try {
      const token = await login(stack.url, user);
      const opsToken = await login(stack.url, OPERATOR);
      const stats = await json(`${stack.url}/api/stats`, token);
      log(`library: ${stats.total} photos (${stats.ready} ready); measuring`);
      results.push({
        size,
        photos: stats.total,
        added,
        calls: await measure(stack.url, token, opsToken),
      });
    } finally {
      await stack.stop();
    }
  }
} finally {
  rmSync(stateDir, { recursive: true, force: true });
}

const [small, large] = results;
const ms = (v) => `${Math.round(v)} ms`;
const lines = [
  `| call (median of ${SAMPLES}, local D1) | ${small.photos.toLocaleString("en")} photos | ${large.photos.toLocaleString("en")} photos | growth |`,
  "|---|---|---|---|",
];
for (const call of Object.keys(small.calls)) {
  const a = small.calls[call];
  const b = large.calls[call];
  lines.push(`| \`${call}\` | ${ms(a)} | ${ms(b)} | ${(b / a).toFixed(2)}x |`);
}
const perPhoto = bytes.large / large.added;
lines.push(
  `| D1 bytes per photo (indexes, full-text, counters and rollups included) | | ${Math.round(perPhoto).toLocaleString("en")} B | |`,
);
console.log(lines.join("\n"));
console.log();
console.log("| shards (10 GB each) | photos in total |");
console.log("|---|---|");
const perShard = D1_MAX_BYTES / perPhoto;
for (const n of [1, 2, 16, 128, 1024]) {
  console.log(`| ${n} | ${((n * perShard) / 1e6).toFixed(1)} M |`);
}
