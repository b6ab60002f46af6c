// `npm run bench:uploads`: POST /api/uploads latency, as the client sees it and inside the
// worker (Server-Timing), on the local stack:
//   1. quiet: the whole stack, nothing else running;
//   2. PUT ingest: the api alone (DARKROOM_WORKERS=api, so no processing at all) while
//      the CLI's library uploads BENCH_FILES photos of the load set, one at a time and
//      six at a time.
// A probe user POSTs 50 new files (never uploaded) every BENCH_PROBE_MS. It separates
// what the api costs from the wait at the door of the one local workerd thread that
// also runs the emulated R2 (see docs/benchmarks.md).
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createClient, serverTotalMs, uploadDirectory } from "../packages/cli/src/index.mjs";
import { generateSet } from "./lib/load/photo-set.mjs";
import { login, percentile, startStack } from "./lib/stack.mjs";

const FILES = Number(process.env.BENCH_FILES ?? 300);
const QUIET_POSTS = Number(process.env.BENCH_QUIET_POSTS ?? 40);
const PROBE_MS = Number(process.env.BENCH_PROBE_MS ?? 700);

async function probePost(url, token) {
  const files = Array.from({ length: 50 }, (_, i) => ({
    clientId: `p${i}`,
    name: `p${i}.jpg`,
    size: 1000 + i,
    type: "image/jpeg",
    sha256: randomBytes(32).toString("hex"),
  }));
  const t0 = performance.now();
  const res = await fetch(`${url}/api/uploads`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ files }),
  });
  const ms = performance.now() - t0;
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`probe POST failed: ${res.status}`);
  return { ms, serverMs: serverTotalMs(res.headers.get("server-timing")) ?? Number.NaN };
}

function summary(label, samples, extra = {}) {
  const client = samples.map((s) => s.ms).sort((a, b) => a - b);
  const server = samples.map((s) => s.serverMs).sort((a, b) => a - b);
  const r = (v) => Math.round(v);
  return {
    label,
    posts: samples.length,
    "client p50": r(percentile(client, 50)),
    "client p95": r(percentile(client, 95)),
    "worker p50": r(percentile(server, 50)),
    "worker p95": r(percentile(server, 95)),
    ...extra,
  };
}

async function quiet() {
  const stack = await startStack({ sweepSeconds: 0 });
  try {
    const token = await login(stack.url, `bench-${randomBytes(4).toString("hex")}`);
    for (let i = 0; i < 5; i++) await probePost(stack.url, token); // warm-up
    const samples = [];
    for (let i = 0; i < QUIET_POSTS; i++) samples.push(await probePost(stack.url, token));
    return summary("quiet, whole stack", samples);
  } finally {
    await stack.stop();
  }
}

async function ingest(dir, concurrency) {
  const stack = await startStack({ sweepSeconds: 0, env: { DARKROOM_WORKERS: "api" } });
  const manifestDir = mkdtempSync(path.join(tmpdir(), "darkroom-bench-manifest-"));
  try {
    const token = await login(stack.url, `bench-${randomBytes(4).toString("hex")}`);
    const probeToken = await login(stack.url, `probe-${randomBytes(4).toString("hex")}`);
    let done = false;
    const samples = [];
    const prober = (async () => {
      while (!done) {
        samples.push(await probePost(stack.url, probeToken));
        await new Promise((r) => setTimeout(r, PROBE_MS));
      }
    })();
    const t0 = performance.now();
    const result = await uploadDirectory({
      client: createClient({ url: stack.url, token }),
      dir,
      concurrency,
      manifestPath: path.join(manifestDir, "manifest.jsonl"),
    });
    const seconds = (performance.now() - t0) / 1000;
    done = true;
    await prober;
    if (result.failed.length > 0) throw new Error(`${result.failed.length} uploads failed`);
    return summary(`api alone, PUTs ${concurrency} at a time`, samples, {
      uploaded: result.uploaded,
      seconds: seconds.toFixed(1),
      "MB/s": (result.bytes / 2 ** 20 / seconds).toFixed(1),
    });
  } finally {
    await stack.stop();
    rmSync(manifestDir, { recursive: true, force: true });
  }
}

const { dir } = await generateSet({
  files: FILES,
  log: (m) => process.stderr.write(`bench: ${m}\n`),
});
const rows = [await quiet()];
for (const c of [1, 6]) rows.push(await ingest(dir, c));
console.table(rows);
