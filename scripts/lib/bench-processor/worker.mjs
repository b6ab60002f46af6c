// The bench worker (workers/processor/bench) bundled once and run by wrangler dev, and the
// requests that run processImage in it.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort, groupProcesses, rssBytes, stopProcessGroups } from "../stack.mjs";
import { BUDGET_MB, median, RUNS, root } from "./common.mjs";
import { sharpVariants } from "./sharp-peer.mjs";

const wranglerEnv = {
  ...process.env,
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_SEND_METRICS: "false",
};

/** The bench worker bundled into `outDir`, with a config that runs it as it is. */
export function buildWorker(outDir) {
  execFileSync(
    "npx",
    [
      "wrangler",
      "deploy",
      "--dry-run",
      "-c",
      "workers/processor/bench/wrangler.toml",
      "--outdir",
      outDir,
    ],
    { cwd: root, env: wranglerEnv, stdio: ["ignore", "pipe", "pipe"] },
  );
  const config = path.join(outDir, "wrangler.toml");
  writeFileSync(
    config,
    [
      'name = "darkroom-processor-bench"',
      'main = "bench-worker.js"',
      'compatibility_date = "2026-11-01"',
      'compatibility_flags = ["nodejs_compat"]',
      "no_bundle = true",
      'rules = [{ type = "CompiledWasm", globs = ["**/*.wasm"] }]',
      "",
    ].join("\n"),
  );
  return config;
}

/** wrangler dev on `config`. Nothing may write into the config's directory (it is watched). */
export async function startWorker(config) {
  const port = await freePort();
  const inspectorPort = await freePort();
  const stateDir = mkdtempSync(path.join(tmpdir(), "darkroom-bench-state-"));
  const child = spawn(
    "npx",
    [
      "wrangler",
      "dev",
      "-c",
      config,
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--persist-to",
      stateDir,
    ],
    {
      cwd: root,
      env: wranglerEnv,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group: stopped as a whole, workerd found by it
    },
  );
  let output = "";
  child.stdout.on("data", (c) => {
    output += c;
  });
  child.stderr.on("data", (c) => {
    output += c;
  });
  const exited = new Promise((r) => child.once("exit", r));
  const group = child.pid;
  const stop = async () => {
    await stopProcessGroups([group], exited, 10_000);
    rmSync(stateDir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`wrangler dev exited:\n${output.slice(-3000)}`);
      if (Date.now() > deadline)
        throw new Error(`wrangler dev never ready:\n${output.slice(-3000)}`);
      try {
        if ((await fetch(`${url}/ping`)).ok) break;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  /**
   * workerd processes of this wrangler: one runs wrangler's proxy on `port` (its
   * --socket-addr names it), the other runs the bench worker: that one is measured.
   */
  const workerd = () => {
    const pids = { worker: [], proxy: [] };
    for (const p of groupProcesses(group)) {
      if (!p.comm.startsWith("workerd")) continue;
      const proxy = p.args.some(
        (a) => a.startsWith("--socket-addr=entry=") && a.endsWith(`:${port}`),
      );
      (proxy ? pids.proxy : pids.worker).push(p.pid);
    }
    return pids;
  };
  const rss = () => workerd().worker.reduce((n, pid) => n + rssBytes(pid), 0);
  /** CPU time (user + system, all threads) the bench worker's workerd has used, ms. */
  const cpuMs = () => workerd().worker.reduce((n, pid) => n + processCpuMs(pid), 0);
  return { url, workerd, rss, cpuMs, stop };
}

/**
 * utime + stime of a process from /proc (fields 14 and 15, in clock ticks: 100 a second
 * on Linux), ms. On a shared machine the wall clock mostly measures the other jobs; CPU
 * time is what the work itself cost.
 */
export function processCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}

/** Every isolate that answered: one, unless wrangler restarted the worker. */
export const isolatesSeen = new Set();

/** One request, one run of processImage in the isolate; wall clock measured here too. */
export async function process1(worker, bytes, budgetMb = BUDGET_MB) {
  const post = () =>
    fetch(`${worker.url}/process?runs=1&budgetMb=${budgetMb}`, { method: "POST", body: bytes });
  let t0 = performance.now();
  let res;
  try {
    res = await post();
  } catch (err) {
    // A kept-alive connection that workerd closed while a native peer ran (seconds between
    // requests) fails on the first write: sent again once on a fresh connection.
    if (!["EPIPE", "ECONNRESET", "UND_ERR_SOCKET"].includes(err?.cause?.code)) throw err;
    t0 = performance.now();
    res = await post();
  }
  const body = await res.json();
  const wallMs = performance.now() - t0;
  if (!res.ok) throw new Error(`bench worker: ${res.status} ${JSON.stringify(body)}`);
  isolatesSeen.add(body.isolate);
  return { ...body, wallMs };
}

/**
 * Both sides on one image, interleaved (one pipeline request, one sharp run, ...) so both
 * see the same background load; one warm-up each first.
 */
export async function compare(worker, bytes, budgetMb) {
  const warm = await process1(worker, bytes, budgetMb);
  if (warm.error) return { error: warm.error };
  await sharpVariants(bytes);
  const w = { inIsolate: [], wall: [], peaks: [], clockAhead: 0 };
  const sharpMs = [];
  let last;
  let sharpOut;
  for (let i = 0; i < RUNS; i++) {
    last = await process1(worker, bytes, budgetMb);
    if (last.error) return { error: last.error };
    const run = last.runs[0];
    w.inIsolate.push(run.ms);
    w.wall.push(last.wallMs);
    w.peaks.push(run.peakBytes);
    // The isolate's own clock must never read more than Node's wall clock around it.
    if (run.ms > last.wallMs + 1) w.clockAhead += 1;
    const t0 = performance.now();
    sharpOut = await sharpVariants(bytes);
    sharpMs.push(performance.now() - t0);
  }
  return {
    workerd: {
      ...last.runs[0],
      ms: median(w.inIsolate),
      wallMs: median(w.wall),
      peakBytes: Math.max(...w.peaks),
      peakSpread: Math.max(...w.peaks) - Math.min(...w.peaks),
      clockAhead: w.clockAhead,
    },
    sharp: { ...sharpOut, ms: median(sharpMs) },
  };
}
