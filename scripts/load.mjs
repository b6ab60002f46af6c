// `npm run load -- --files 2000 [--chaos] [--small] [--concurrency 8] [--json]`
//
// Generates N varied photos (0.5-24 MP, or 0.1-1 MP with --small; JPEG/PNG/WebP; ~5 %
// byte-identical duplicates; ~2 % corrupt), starts the local stack (or targets
// DARKROOM_URL), uploads them through the CLI's library, waits until every asset is
// `ready` or `failed`, and prints latency, timing, throughput and workerd memory.
//
// --chaos: fault injection on (R2 put failures, duplicate queue deliveries), lifecycle
// timeouts shortened to seconds (CHAOS_TIMINGS) with the sweeper every 3 s, and the stack
// is killed (SIGKILL) and restarted --restarts times (default 2) mid-run on the same
// state: once halfway through the uploads, then while processing runs. Then every valid
// file must be ready exactly once (one asset row, one vector row, exactly one set of R2
// variants), nothing stranded, no R2 objects without an asset, every corrupt file failed
// with a reason from the processor.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { createClient, settled, uploadDirectory } from "../packages/cli/src/index.mjs";
import { localState } from "./lib/load/local-state.mjs";
import { generateSet } from "./lib/load/photo-set.mjs";
import { freePort, login, percentile, rssBytes, startStack } from "./lib/stack.mjs";

const FAULTS = "r2-put:0.1,dup-delivery:0.2";

/**
 * Lifecycle timeouts for a chaos run (vars of packages/shared/src/leases.ts and the api's
 * PENDING_IDLE_SECONDS; `npm run dev` hands them to all three workers). The production
 * defaults (1-10 min) would leave what a crash lost waiting for ten minutes. Not shorter
 * than a healthy stage takes, though: an `uploaded` asset still queued behind the backlog
 * looks exactly like one whose message was lost, and the sweeper re-sends it every idle
 * period. The full-size set keeps a backlog of minutes on 2 cores, hence a minute there.
 */
export function chaosTimings(small) {
  const idle = small ? "10" : "60";
  const lease = small ? "15" : "30";
  return {
    PENDING_IDLE_SECONDS: idle,
    UPLOADED_IDLE_SECONDS: idle,
    PROCESSING_LEASE_SECONDS: lease,
    PROCESSED_IDLE_SECONDS: idle,
    EMBED_LEASE_SECONDS: lease,
  };
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

/** Counts of the values of `key` over `items`, e.g. `{ ready: 27, failed: 1 }`. */
function countBy(items, key) {
  const out = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}

export async function runLoad({
  files = 2000,
  chaos = false,
  small = false,
  restarts = chaos ? 2 : 0,
  concurrency = 6,
  seed = 1,
  sweepSeconds = chaos ? 3 : 15,
  timings = chaos ? chaosTimings(small) : {},
  timeoutMs = 45 * 60_000,
  log = (m) => process.stderr.write(`load: ${m}\n`),
} = {}) {
  const targeted = Boolean(process.env.DARKROOM_URL);
  if (targeted && chaos) throw new Error("--chaos needs its own stack: unset DARKROOM_URL");
  const { dir, plan } = await generateSet({ files, seed, small, log });
  const port = await freePort();
  const stateDir = mkdtempSync(path.join(tmpdir(), "darkroom-load-state-"));
  const stackOpts = {
    sweepSeconds,
    port,
    stateDir,
    // scripts/dev.mjs hands these to all three workers (wrangler.toml vars overridden).
    env: { ...(chaos ? { DARKROOM_FAULTS: FAULTS } : {}), ...timings },
  };
  log(
    `starting the stack${chaos ? ` with faults ${FAULTS}, timings ${JSON.stringify(timings)}, sweeper every ${sweepSeconds} s` : ""}`,
  );
  let stack = await startStack(stackOpts);
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
      // Later crashes: while processing and embedding run, so claims are left behind and
      // queue messages in flight are lost (the k-th once 20 × (k-1) % are ready). Checked
      // before "settled": a small set on a quiet machine can be done by the first poll, and
      // a run that promised N crashes makes N (the reason says how far it had got).
      if (chaos && restartsDone < restarts && last.ready >= last.total * (0.2 * restartsDone)) {
        restartsDone += 1;
        await restart(`processing, ${last.ready}/${last.total} ready`);
        continue;
      }
      const inFlight = last.pending + last.uploaded + last.processing;
      if (!tProcessed && inFlight === 0) tProcessed = Date.now();
      if (settled(last)) {
        tReady = Date.now();
        break;
      }
      if (Date.now() - lastLog > 15_000) {
        lastLog = Date.now();
        log(`stats ${JSON.stringify(last)}`);
      }
      // Poll faster in a chaos run: a small set can go from 20 % to done within a second.
      await new Promise((r) => setTimeout(r, chaos ? 500 : 1000));
    }
    if (!tReady) log(`timed out; last stats ${JSON.stringify(last)}`);

    // Outcome per file, by hash (duplicates share their original's asset).
    const assets = await allAssets(client, upload.batchId);
    const bySha = new Map(assets.map((a) => [a.sha256, a]));
    const { sha256File } = await import("../packages/cli/src/files.mjs");
    const expected = { valid: 0, ready: 0, corrupt: 0, corruptFailed: 0, lost: [], wrong: [] };
    const readyIds = new Set();
    const fileShas = new Set();
    for (const item of plan) {
      if (item.kind === "duplicate") continue;
      const sha = await sha256File(path.join(dir, item.name));
      fileShas.add(sha);
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
        // The processor's own reason (e.g. `corrupt`), not a give-up after retries.
        if (
          a?.status === "failed" &&
          a.error?.stage === "processing" &&
          a.error.code &&
          a.error.code !== "retries_exhausted" &&
          a.error.message
        )
          expected.corruptFailed += 1;
        else expected.wrong.push({ name: item.name, status: a?.status, error: a?.error });
      }
    }
    const unsettled = assets.filter((a) => !["ready", "failed"].includes(a.status));
    const spread = (values) => {
      const sorted = [...values].sort((a, b) => a - b);
      const at = (p) => Math.round(percentile(sorted, p) * 10) / 10;
      return { n: sorted.length, p50: at(50), p95: at(95), p99: at(99) };
    };
    const minutes = (tProcessed - t0) / 60_000;
    const result = {
      files,
      profile: small ? "0.1-1 MP" : "0.5-24 MP",
      chaos,
      machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GB RAM, Node ${process.version}`,
      settled: Boolean(tReady),
      validFiles: expected.valid,
      validReady: expected.ready,
      successRate: `${((100 * expected.ready) / Math.max(1, expected.valid)).toFixed(2)} %`,
      lost: expected.lost.length,
      corruptFailedWithReason: `${expected.corruptFailed}/${expected.corrupt}`,
      duplicatesDetected: `${upload.duplicates}/${plan.filter((p) => p.kind === "duplicate").length}`,
      uploadFailures: upload.failed.length,
      stranded: unsettled.length,
      strandedByStatus: countBy(unsettled, (a) => a.status),
      postUploadsMs: spread(upload.postMs),
      // The same requests' time inside the api worker (Server-Timing): postUploadsMs minus
      // this is the wait at the door, behind whatever else the one local workerd runs.
      postUploadsServerMs: spread(upload.postServerMs),
      putMs: spread(upload.putMs),
      secondsToAllUploaded: (tUploaded - t0) / 1000,
      secondsToAllProcessed: tProcessed ? (tProcessed - t0) / 1000 : null,
      secondsToAllReady: tReady ? (tReady - t0) / 1000 : null,
      processedPerMinute: tProcessed
        ? Math.round((assets.length / Math.max(minutes, 1e-9)) * 10) / 10
        : null,
      peakWorkerdRssMB: targeted ? null : Math.round(peakRss / 2 ** 20),
      restarts: restartLog,
      problems: expected.wrong.slice(0, 20),
    };
    if (chaos) {
      const { vectors, objects, rows } = await localState(stateDir);
      const badVectors = [...readyIds].filter((id) => vectors.get(id) !== 1);
      const badVariants = assets.filter((a) => {
        const keys = (objects.get(a.id) ?? []).sort().join(",");
        return a.status === "ready"
          ? keys !== "original,preview.webp,thumb.webp"
          : keys.includes(".webp");
      });
      // One asset row per distinct file (the run has one user, so every row is this run's).
      const rowsPerSha = countBy(rows, (r) => r.sha256);
      const filesWithOtherThanOneRow = [...fileShas].filter((sha) => rowsPerSha[sha] !== 1);
      const rowIds = new Set(rows.map((r) => r.id));
      result.exactlyOnce = {
        readyWithOneVectorRow: readyIds.size - badVectors.length,
        readyWithOtherThanOneVectorRow: badVectors.length,
        assetsWithWrongR2Objects: badVariants.length,
        filesWithOtherThanOneAssetRow: filesWithOtherThanOneRow.length,
        assetRowsOfNoFile: rows.filter((r) => !fileShas.has(r.sha256)).length,
        r2ObjectsWithoutAssetRow: [...objects.keys()].filter((id) => !rowIds.has(id)).length,
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

/** Whether a run kept every promise the load test makes (the chaos ones too). */
export function passed(result, { restarts = 0 } = {}) {
  const base =
    result.settled &&
    result.lost === 0 &&
    result.validReady === result.validFiles &&
    result.stranded === 0 &&
    result.corruptFailedWithReason.split("/")[0] === result.corruptFailedWithReason.split("/")[1];
  if (!result.chaos) return base;
  const once = result.exactlyOnce;
  return (
    base &&
    result.restarts.length === restarts &&
    once.readyWithOneVectorRow === result.validFiles &&
    once.readyWithOtherThanOneVectorRow === 0 &&
    once.assetsWithWrongR2Objects === 0 &&
    once.filesWithOtherThanOneAssetRow === 0 &&
    once.assetRowsOfNoFile === 0 &&
    once.r2ObjectsWithoutAssetRow === 0
  );
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
  const restarts = values.chaos ? Number(values.restarts ?? 2) : 0;
  const result = await runLoad({
    files: Number(values.files),
    chaos: values.chaos,
    small: values.small,
    restarts,
    concurrency: Number(values.concurrency),
    seed: Number(values.seed),
  });
  console.log(values.json ? JSON.stringify(result) : JSON.stringify(result, null, 2));
  process.exitCode = passed(result, { restarts }) ? 0 : 1;
}
