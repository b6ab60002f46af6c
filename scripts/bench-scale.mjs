// `npm run bench:scale`: how each user-facing call and the operator dashboard grow with
// the library (issue 22). Two users, placed on different shards, each upload photos the
// local stack really processes (decoded, resized, embedded: every table a photo fills,
// the full-text index and the counters' and rollups' triggers included); their libraries
// are then grown in the local D1 by cloning those rows, one to BENCH_SMALL (2,000) and the
// other to BENCH_LARGE (200,000) photos. Each call is timed for both users in the same
// run, one sample of each in turn (median of BENCH_SAMPLES after warm-ups), so the load
// of a shared machine falls on both sides alike. The clones' lifecycle times are spread
// over the last 23 hours, so all of them are in the 24-hour window of the ops metrics,
// timed once with only the small library grown and once with both. Also: D1 bytes per
// photo (the growth of the local SQLite files over the large library's clones) and the
// capacity that follows for N shards.
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
/** Each user's clones' ids start with their own prefix: asset ids are unique across shards. */
const CLONE_PREFIXES = { small: "bbbbbbbb", large: "cccccccc" };

const log = (m) => process.stderr.write(`bench:scale: ${m}\n`);
const run = promisify(execFile);

/** The local D1 databases of the api's wrangler.toml (directory and shards), by binding. */
function databases() {
  const toml = parse(readFileSync(path.join(root, "wrangler.toml"), "utf8"));
  return new Map((toml.d1_databases ?? []).map((d) => [d.binding, d.database_name]));
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
function cloneSql(uid, prefix, from, to, now) {
  const ready = `ready_at_new`;
  const src = `src AS (SELECT *, ROW_NUMBER() OVER (ORDER BY id) - 1 AS i,
      COUNT(*) OVER () AS s FROM assets
      WHERE user_id = '${uid}' AND status = 'ready' AND id NOT LIKE '${prefix}-%')`;
  const k = `k(n) AS (SELECT ${from} UNION ALL SELECT n + 1 FROM k WHERE n < ${to})`;
  const pairs = `c AS (SELECT k.n, src.*, printf('${prefix}-%04x-4000-8000-%012x', src.i, k.n) AS cid,
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

/**
 * The median wall time of each of `fns` over SAMPLES runs after two warm-ups, one sample
 * of each in turn: what the machine's load does to one does it to the others.
 */
async function medians(fns) {
  const times = fns.map(() => []);
  for (let i = 0; i < SAMPLES + 2; i++) {
    for (const [k, fn] of fns.entries()) {
      const t0 = performance.now();
      await fn();
      if (i >= 2) times[k].push(performance.now() - t0);
    }
  }
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]);
}

/** The user-facing calls of the table for one user: name → a function making the call. */
async function userCalls(url, token) {
  const first = await json(`${url}/api/assets?limit=100`, token);
  const cursor = encodeURIComponent(first.nextCursor ?? "");
  return {
    "GET /api/stats": () => json(`${url}/api/stats`, token),
    "POST /api/uploads, 100 new files": () =>
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
    [`GET /api/search, a rare word (${RARE})`]: () => json(`${url}/api/search?q=${RARE}`, token),
    [`GET /api/search, a word in every name (${COMMON})`]: () =>
      json(`${url}/api/search?q=${COMMON}`, token),
    "GET /api/assets?limit=100, first page": () => json(`${url}/api/assets?limit=100`, token),
    "GET /api/assets?limit=100, next page": () =>
      json(`${url}/api/assets?limit=100&cursor=${cursor}`, token),
  };
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

/** SQL run on one local database, its first statement's rows. */
async function rows(stateDir, database, sqlText) {
  const [r] = await d1(stateDir, database, sqlText);
  return r?.results ?? [];
}

/**
 * Two users on different shards: twelve users sign in (each placed at first sight by the
 * hash of their id, so with 2 shards all twelve share one with odds of 2^-11), and the
 * directory says where each went.
 */
async function twoShards(stack, stateDir) {
  const names = Array.from({ length: 12 }, () => `bench-scale-${randomBytes(4).toString("hex")}`);
  try {
    // The first authenticated request places the user.
    for (const name of names) await json(`${stack.url}/api/stats`, await login(stack.url, name));
  } finally {
    await stack.stop();
  }
  const placed = await rows(
    stateDir,
    databases().get("DIRECTORY"),
    `SELECT u.sub, s.user_id, s.shard FROM users AS u JOIN user_shards AS s ON s.user_id = u.id`,
  );
  const byShard = new Map();
  for (const r of placed) if (names.includes(r.sub)) byShard.set(r.shard, r);
  const [small, large] = [...byShard.values()].sort((a, b) => a.shard - b.shard);
  if (!small || !large) throw new Error(`12 users all on one shard: ${JSON.stringify(placed)}`);
  const user = (r) => ({ name: r.sub, uid: r.user_id, shard: r.shard });
  return { small: user(small), large: user(large) };
}

/** Clones `user`'s photos until their library holds `size` photos (clones `from`…). */
async function grow(stateDir, user, from, size) {
  const t0 = performance.now();
  const now = Date.now();
  const db = databases().get(`DB_${user.shard}`);
  await d1(stateDir, db, cloneSql(user.uid, CLONE_PREFIXES[user.label], from, size - 1, now));
  log(
    `${user.label} library grown to ~${size} photos in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );
}

const stateDir = mkdtempSync(path.join(tmpdir(), "darkroom-bench-scale-"));
const port = await freePort();
const stackOptions = { sweepSeconds: 0, stateDir, port, env: { OPERATOR_SUBS: OPERATOR } };
const results = {};
let bytesLarge = 0;
let users;
try {
  const { dir } = await generateSet({ files: PHOTOS, small: true, log });
  users = await twoShards(await startStack(stackOptions), stateDir);
  let stack = await startStack(stackOptions);
  try {
    for (const [label, user] of Object.entries(users)) {
      user.label = label;
      const token = await login(stack.url, user.name);
      const manifestDir = mkdtempSync(path.join(tmpdir(), "darkroom-bench-manifest-"));
      await uploadDirectory({
        client: createClient({ url: stack.url, token }),
        dir,
        manifestPath: path.join(manifestDir, "manifest.jsonl"),
      });
      rmSync(manifestDir, { recursive: true, force: true });
      const s = await waitProcessed(stack.url, token);
      log(
        `${label} user (shard ${user.shard}): ${s.ready} photos really processed (${s.failed} failed, as the load set wants)`,
      );
    }
  } finally {
    await stack.stop();
  }
  // The small library, then the ops metrics with it alone in the window.
  await grow(stateDir, users.small, 0, SMALL);
  stack = await startStack(stackOptions);
  try {
    const ops = await login(stack.url, OPERATOR);
    [results.opsSmall] = await medians([() => json(`${stack.url}/api/ops/metrics?since=24h`, ops)]);
  } finally {
    await stack.stop();
  }
  const before = d1Bytes(stateDir);
  await grow(stateDir, users.large, 0, LARGE);
  bytesLarge = d1Bytes(stateDir) - before;
  stack = await startStack(stackOptions);
  try {
    for (const user of Object.values(users)) {
      user.token = await login(stack.url, user.name);
      user.photos = (await json(`${stack.url}/api/stats`, user.token)).total;
      user.calls = await userCalls(stack.url, user.token);
    }
    log(`libraries: ${users.small.photos} and ${users.large.photos} photos; measuring`);
    results.calls = {};
    for (const call of Object.keys(users.small.calls)) {
      results.calls[call] = await medians([users.small.calls[call], users.large.calls[call]]);
    }
    const ops = await login(stack.url, OPERATOR);
    [results.opsLarge] = await medians([() => json(`${stack.url}/api/ops/metrics?since=24h`, ops)]);
  } finally {
    await stack.stop();
  }
} finally {
  rmSync(stateDir, { recursive: true, force: true });
}

const ms = (v) => `${Math.round(v)} ms`;
const { small, large } = users;
const lines = [
  `| call (median of ${SAMPLES}, local D1, samples interleaved) | ${small.photos.toLocaleString("en")} photos (shard ${small.shard}) | ${large.photos.toLocaleString("en")} photos (shard ${large.shard}) | growth |`,
  "|---|---|---|---|",
];
for (const [call, [a, b]] of Object.entries(results.calls)) {
  lines.push(`| \`${call}\` | ${ms(a)} | ${ms(b)} | ${(b / a).toFixed(2)}x |`);
}
lines.push(
  `| \`GET /api/ops/metrics?since=24h\` (all users; timed after each growth, not interleaved) | ${ms(results.opsSmall)} | ${ms(results.opsLarge)} | ${(results.opsLarge / results.opsSmall).toFixed(2)}x |`,
);
const perPhoto = bytesLarge / LARGE;
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
