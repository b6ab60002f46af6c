// `npm run load -- --files 2000 [--chaos] [--small] [--concurrency 8] [--json]`
//
// Generates N varied photos (0.5-24 MP, or 0.1-1 MP with --small; JPEG/PNG/WebP; ~5 %
// byte-identical duplicates; ~2 % corrupt), starts the local stack (or targets
// DARKROOM_URL), uploads them through the CLI's library, waits until every asset is
// `ready` or `failed`, and prints latency, timing, throughput and workerd memory.
//
// --chaos: fault injection on (R2 put failures, duplicate queue deliveries), and the
// stack is killed (SIGKILL) and restarted --restarts times (default 2) mid-run on the
// same state; then every valid file must be ready exactly once (one vector row, one set
// of R2 variants), nothing stranded, every corrupt file failed with a reason.
import { randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { createClient, settled, uploadDirectory } from "../packages/cli/src/index.mjs";
import { freePort, login, percentile, rssBytes, startStack } from "./lib/stack.mjs";

const FAULTS = "r2-put:0.1,dup-delivery:0.2";

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Generates (or reuses, cached in os.tmpdir by count/seed/profile) the photo set.
 * @returns {Promise<{ dir: string, plan: Array<{ name: string, kind: "valid" | "duplicate" | "corrupt", of?: string, mp?: number }> }>}
 */
export async function generateSet({ files, seed = 1, small = false, log = () => {} }) {
  const dir = path.join(tmpdir(), `darkroom-load-${files}-${seed}-${small ? "small" : "full"}`);
  const planFile = path.join(dir, ".plan.json");
  if (existsSync(planFile)) return { dir, plan: JSON.parse(readFileSync(planFile, "utf8")) };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.join(dir, "dups"), { recursive: true });
  const rand = mulberry32(seed);
  const [minMp, maxMp] = small ? [0.1, 1] : [0.5, 24];
  const nCorrupt = Math.max(1, Math.round(files * 0.02));
  const nDup = Math.max(1, Math.round(files * 0.05));
  const nValid = files - nCorrupt - nDup;
  const plan = [];
  const t0 = Date.now();
  const make = async (i) => {
    // Log-uniform size: most photos are a few MP, a few are 24.
    const mp = minMp * (maxMp / minMp) ** rand();
    const aspect = rand() < 0.5 ? 4 / 3 : 3 / 2;
    let w = Math.round(Math.sqrt(mp * 1e6 * aspect));
    let h = Math.round((mp * 1e6) / w);
    if (rand() < 0.3) [w, h] = [h, w];
    const r = rand();
    const fmt = r < 0.6 ? "jpg" : r < 0.8 ? "png" : "webp";
    // A random 8x6 colour field upscaled smoothly, with light noise: compresses like a
    // photo (neither a flat colour nor pure noise).
    const cells = Buffer.from(Array.from({ length: 8 * 6 * 3 }, () => Math.floor(rand() * 256)));
    let img = sharp(cells, { raw: { width: 8, height: 6, channels: 3 } })
      .resize(w, h, { kernel: "cubic" })
      .composite([
        {
          input: {
            create: {
              width: w,
              height: h,
              channels: 3,
              background: "#808080",
              noise: { type: "gaussian", mean: 128, sigma: 6 },
            },
          },
          blend: "overlay",
        },
      ]);
    if (fmt === "jpg") img = img.jpeg({ quality: 85 });
    else if (fmt === "png") img = img.png({ compressionLevel: 6 });
    else img = img.webp({ quality: 80, effort: 1 });
    const name = `${String(Math.floor(i / 100)).padStart(2, "0")}/img-${String(i).padStart(5, "0")}.${fmt}`;
    mkdirSync(path.join(dir, path.dirname(name)), { recursive: true });
    await img.toFile(path.join(dir, name));
    plan[i] = { name, kind: "valid", mp: Math.round(mp * 10) / 10 };
  };
  let next = 0;
  const workers = Array.from({ length: Math.max(1, cpus().length) }, async () => {
    while (next < nValid) {
      const i = next++;
      await make(i);
      if (i % 100 === 99)
        log(`generated ${i + 1}/${nValid} (${Math.round((Date.now() - t0) / 1000)} s)`);
    }
  });
  await Promise.all(workers);
  for (let k = 0; k < nDup; k++) {
    const of = plan[Math.floor(rand() * nValid)].name;
    const name = `dups/copy-${k}${path.extname(of)}`;
    writeFileSync(path.join(dir, name), readFileSync(path.join(dir, of)));
    plan.push({ name, kind: "duplicate", of });
  }
  for (let k = 0; k < nCorrupt; k++) {
    // A real signature, then garbage: sniffed as JPEG/PNG, fails to decode.
    const png = k % 2 === 1;
    const head = png
      ? Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
      : Buffer.from([0xff, 0xd8, 0xff, 0xe0]);
    const name = `corrupt-${k}.${png ? "png" : "jpg"}`;
    writeFileSync(path.join(dir, name), Buffer.concat([head, randomBytes(20_000 + k)]));
    plan.push({ name, kind: "corrupt" });
  }
  writeFileSync(planFile, JSON.stringify(plan));
  log(`generated ${files} files in ${Math.round((Date.now() - t0) / 1000)} s into ${dir}`);
  return { dir, plan };
}

async function allAssets(client, batchId) {
  const out = [];
  let cursor;
  do {
    const q = { batchId, limit: "100", ...(cursor ? { cursor } : {}) };
    const page = await client.listAssets(q);
    out.push(...page.assets);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

/** Rows of local D1 / R2 state (miniflare keeps them in SQLite files), for chaos checks. */
async function localState(stateDir) {
  const { DatabaseSync } = await import("node:sqlite");
  const sqlite = (sub) => {
    const d = path.join(stateDir, "v3", sub);
    if (!existsSync(d)) return [];
    return readdirSync(d)
      .filter((f) => f.endsWith(".sqlite"))
      .map((f) => path.join(d, f));
  };
  const vectors = new Map();
  for (const f of sqlite("d1/miniflare-D1DatabaseObject")) {
    const db = new DatabaseSync(f, { readOnly: true });
    try {
      for (const r of db
        .prepare("SELECT asset_id AS id, COUNT(*) AS n FROM asset_vectors GROUP BY asset_id")
        .all())
        vectors.set(r.id, r.n);
    } catch {
      // not the darkroom database
    }
    db.close();
  }
  const objects = new Map();
  for (const f of sqlite("r2/miniflare-R2BucketObject")) {
    const db = new DatabaseSync(f, { readOnly: true });
    try {
      for (const r of db.prepare("SELECT key FROM _mf_objects").all()) {
        const m = /^u\/[^/]+\/([^/]+)\/(.+)$/.exec(r.key);
        if (m) objects.set(m[1], [...(objects.get(m[1]) ?? []), m[2]]);
      }
    } catch {
      // another table layout
    }
    db.close();
  }
  return { vectors, objects };
}

export async function runLoad({
  files = 2000,
  chaos = false,
  small = false,
  restarts = chaos ? 2 : 0,
  concurrency = 6,
  seed = 1,
  sweepSeconds = chaos ? 5 : 15,
  timeoutMs = 45 * 60_000,
  log = (m) => process.stderr.write(`load: ${m}\n`),
} = {}) {
  const { dir, plan } = await generateSet({ files, seed, small, log });
  const port = await freePort();
  const stateDir = mkdtempSync(path.join(tmpdir(), "darkroom-load-state-"));
  const stackOpts = {
    sweepSeconds,
    port,
    stateDir,
    env: chaos ? { DARKROOM_FAULTS: FAULTS } : {},
  };
  log(`starting the stack${chaos ? ` with faults ${FAULTS}` : ""}`);
  let stack = await startStack(stackOpts);
  const targeted = Boolean(process.env.DARKROOM_URL);
  if (targeted && chaos) throw new Error("--chaos needs its own stack: unset DARKROOM_URL");
  let peakRss = 0;
  const sampler = setInterval(() => {
    const sum = stack.workerdPids().reduce((n, pid) => n + rssBytes(pid), 0);
    peakRss = Math.max(peakRss, sum);
  }, 500);
  const manifestDir = mkdtempSync(path.join(tmpdir(), "darkroom-load-manifest-"));
  const restartLog = [];
  let restarting = Promise.resolve();
  const restart = (why) => {
    restarting = restarting.then(async () => {
      const t = Date.now();
      log(`chaos: killing the stack (${why})`);
      await stack.kill();
      stack = await startStack(stackOpts);
      restartLog.push({ why, seconds: (Date.now() - t) / 1000 });
      log(`chaos: stack back after ${((Date.now() - t) / 1000).toFixed(1)} s`);
    });
    return restarting;
  };
  try {
    const token = await login(stack.url, `load-${randomBytes(4).toString("hex")}`);
    const client = createClient({ url: stack.url, token, retries: chaos ? 12 : 6 });
    const t0 = Date.now();
    let restartsDone = 0;
    const upload = await uploadDirectory({
      client,
      dir,
      concurrency,
      manifestPath: path.join(manifestDir, "manifest.jsonl"),
      onProgress: (p) => {
        // First crash in the middle of the uploads.
        if (chaos && restartsDone === 0 && restarts > 0 && p.done >= p.total * 0.5) {
          restartsDone += 1;
          void restart("mid-upload");
        }
      },
    });
    const tUploaded = Date.now();
    await restarting;
    log(
      `uploaded ${upload.uploaded}, duplicates ${upload.duplicates}, failed ${upload.failed.length} in ${((tUploaded - t0) / 1000).toFixed(1)} s`,
    );
    let tProcessed = 0;
    let tReady = 0;
    let last;
    const deadline = Date.now() + timeoutMs;
    let lastLog = 0;
    while (Date.now() < deadline) {
      try {
        last = await client.stats(upload.batchId);
      } catch {
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      const inFlight = last.pending + last.uploaded + last.processing;
      if (!tProcessed && inFlight === 0) tProcessed = Date.now();
      if (settled(last)) {
        tReady = Date.now();
        break;
      }
      // Later crashes: while processing runs, so queue messages in flight are lost.
      if (chaos && restartsDone < restarts && last.ready >= last.total * (0.2 * restartsDone)) {
        restartsDone += 1;
        await restart(`processing, ${last.ready}/${last.total} ready`);
      }
      if (Date.now() - lastLog > 15_000) {
        lastLog = Date.now();
        log(`stats ${JSON.stringify(last)}`);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    if (!tReady) throw new Error(`timed out; last stats ${JSON.stringify(last)}`);

    // Outcome per file, by hash (duplicates share their original's asset).
    const assets = await allAssets(client, upload.batchId);
    const bySha = new Map(assets.map((a) => [a.sha256, a]));
    const { sha256File } = await import("../packages/cli/src/files.mjs");
    const expected = { valid: 0, ready: 0, corrupt: 0, corruptFailed: 0, lost: [], wrong: [] };
    const readyIds = new Set();
    for (const item of plan) {
      if (item.kind === "duplicate") continue;
      const sha = await sha256File(path.join(dir, item.name));
      const a = bySha.get(sha);
      if (item.kind === "valid") {
        expected.valid += 1;
        if (!a) expected.lost.push(item.name);
        else if (a.status === "ready") {
          expected.ready += 1;
          readyIds.add(a.id);
        } else expected.wrong.push({ name: item.name, status: a.status, error: a.error });
      } else {
        expected.corrupt += 1;
        if (a?.status === "failed" && a.error?.code && a.error?.message)
          expected.corruptFailed += 1;
        else expected.wrong.push({ name: item.name, status: a?.status, error: a?.error });
      }
    }
    const stranded = assets.filter((a) => !["ready", "failed"].includes(a.status)).length;
    const post = [...upload.postMs].sort((a, b) => a - b);
    const put = [...upload.putMs].sort((a, b) => a - b);
    const ms = (v) => Math.round(v * 10) / 10;
    const minutes = (tProcessed - t0) / 60_000;
    const result = {
      files,
      profile: small ? "0.1-1 MP" : "0.5-24 MP",
      chaos,
      machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GB RAM, Node ${process.version}`,
      validFiles: expected.valid,
      validReady: expected.ready,
      successRate: `${((100 * expected.ready) / Math.max(1, expected.valid)).toFixed(2)} %`,
      lost: expected.lost.length,
      corruptFailedWithReason: `${expected.corruptFailed}/${expected.corrupt}`,
      duplicatesDetected: `${upload.duplicates}/${plan.filter((p) => p.kind === "duplicate").length}`,
      uploadFailures: upload.failed.length,
      stranded,
      postUploadsMs: {
        n: post.length,
        p50: ms(percentile(post, 50)),
        p95: ms(percentile(post, 95)),
        p99: ms(percentile(post, 99)),
      },
      putMs: {
        n: put.length,
        p50: ms(percentile(put, 50)),
        p95: ms(percentile(put, 95)),
        p99: ms(percentile(put, 99)),
      },
      secondsToAllUploaded: (tUploaded - t0) / 1000,
      secondsToAllProcessed: (tProcessed - t0) / 1000,
      secondsToAllReady: (tReady - t0) / 1000,
      processedPerMinute: Math.round((assets.length / Math.max(minutes, 1e-9)) * 10) / 10,
      peakWorkerdRssMB: targeted ? null : Math.round(peakRss / 2 ** 20),
      restarts: restartLog,
      problems: expected.wrong.slice(0, 20),
    };
    if (chaos) {
      const { vectors, objects } = await localState(stateDir);
      const badVectors = [...readyIds].filter((id) => vectors.get(id) !== 1);
      const badVariants = assets.filter((a) => {
        const keys = (objects.get(a.id) ?? []).sort().join(",");
        return a.status === "ready"
          ? keys !== "original,preview.webp,thumb.webp"
          : keys.includes(".webp");
      });
      result.exactlyOnce = {
        readyWithOneVectorRow: readyIds.size - badVectors.length,
        readyWithOtherThanOneVectorRow: badVectors.length,
        assetsWithWrongR2Objects: badVariants.length,
      };
    }
    return result;
  } finally {
    clearInterval(sampler);
    await stack.stop();
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(manifestDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      files: { type: "string", default: "2000" },
      chaos: { type: "boolean", default: false },
      small: { type: "boolean", default: false },
      restarts: { type: "string" },
      concurrency: { type: "string", default: "6" },
      seed: { type: "string", default: "1" },
      json: { type: "boolean", default: false },
    },
  });
  const result = await runLoad({
    files: Number(values.files),
    chaos: values.chaos,
    small: values.small,
    restarts: values.restarts === undefined ? undefined : Number(values.restarts),
    concurrency: Number(values.concurrency),
    seed: Number(values.seed),
  });
  console.log(values.json ? JSON.stringify(result) : JSON.stringify(result, null, 2));
  const ok = result.lost === 0 && result.validReady === result.validFiles && result.stranded === 0;
  process.exitCode = ok ? 0 : 1;
}
