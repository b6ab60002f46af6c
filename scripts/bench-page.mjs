// `npm run bench:page`: the page's main thread while a user picks 2,000 photos at once.
// Debian's Chromium (headless, playwright-core) against the local stack (`npm run dev` on
// a free port, upload URLs on another origin so every PUT goes through CORS as it does to
// R2); a long-task observer (PerformanceObserver "longtask": every main-thread task over
// 50 ms) records from the pick until every photo is uploaded (every PUT answered: the
// page's own work ends there; set BENCH_PAGE_UNTIL=server to wait for the server to count
// them uploaded too, which takes the processor's pace). The stack runs the api worker
// alone (DARKROOM_WORKERS=api) unless BENCH_PAGE_WORKERS says otherwise, so processing does
// not take the page's CPU on a small machine. Prints the longest tasks.
//
// Peer, same browser, same run: the same 2,000 files set on a bare `<input type=file>` in
// an empty page whose `change` listener does nothing, i.e. what Chromium itself costs to
// take the pick. (Measured: without any listener the same block of the event loop happens
// but is not reported as a long task, since no script of the page runs in it.) The ratio
// says how much of the page's worst task is ours; the longest task after the pick's own
// is the page's work alone.
//
// BENCH_PAGE_SOURCE=handles (issue 24): instead of the input, the photos are written to
// the origin private file system (OPFS) and its folder handle goes to the page the way a
// folder picker's or a drop's would (the `darkroom:handles` event, Uploader.addHandles):
// no file list built by Chromium, no array of Files; rows resolve each file from its
// handle when hashed and when PUT. Reports besides the long tasks: the renderer's memory
// (the largest RSS of the browser's renderer processes, sampled every second from /proc,
// hash workers included; and the page's JS heap), files hashed per second, manifest
// records written (incremental: a few per file, never the whole manifest again), and with
// BENCH_PAGE_UNTIL=searchable (and BENCH_PAGE_WORKERS=all) the time to all searchable.
//
//   npm run bench:page                      # 2,000 photos of 1-3 MP
//   BENCH_PAGE_FILES=500 npm run bench:page
//   BENCH_PAGE_SOURCE=handles BENCH_PAGE_FILES=20000 npm run bench:page
//   BENCH_PAGE_PROFILE=/tmp/pick.cpuprofile npm run bench:page   # CPU profile of the first
//                                           # BENCH_PAGE_PROFILE_S seconds (20)
//   BENCH_PAGE_TRACE=/tmp/run.json npm run bench:page  # a Chromium trace of the run (of its
//                                           # first BENCH_PAGE_TRACE_S seconds if set), and
//                                           # what ran inside each long task
//   BENCH_PAGE_NICE=-10 npm run bench:page  # the browser at nice -10: the page
//                                           # as the foreground app of a machine shared
//                                           # with other jobs (see reniceBrowser)
//   BENCH_PAGE_STACK_NICE=0 npm run bench:page  # the local stack and this harness at the
//                                           # browser's priority (default with
//                                           # BENCH_PAGE_UNTIL=hashed: nice 19, as if the
//                                           # server were not on the same machine)
//   BENCH_PAGE_SCENARIO=resume npm run bench:page  # issue 24's reload and browser restart
//                                           # at 40 %, then Resume (bench-page-resume.mjs)
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { benchResume } from "./bench-page-resume.mjs";
import { browserThreadCpu, rendererRss, reniceBrowser, topThreads } from "./lib/browser-procs.mjs";
import { hashPeer } from "./lib/hash-peer.mjs";
import { saveTrace, startRecording } from "./lib/long-task-trace.mjs";
import { makePhotos, opfsBytes, writeOpfs } from "./lib/page-photos.mjs";
import { openFresh } from "./lib/page-state.mjs";
import { niceHarness, niceStack } from "./lib/proc-priority.mjs";
import { freePort, startStack } from "./lib/stack.mjs";

const CHROMIUM = "/usr/bin/chromium";
const FILES = Number(process.env.BENCH_PAGE_FILES ?? 2000);
const TIMEOUT_MS = Number(process.env.BENCH_PAGE_TIMEOUT_MS ?? 30 * 60_000);
const PROFILE = process.env.BENCH_PAGE_PROFILE;
const PROFILE_S = Number(process.env.BENCH_PAGE_PROFILE_S ?? 20);
// A Chromium trace of the whole run: every long task's biggest pieces (script entry points
// with their source position, GC, layout, IndexedDB callbacks) are printed after the run.
const TRACE = process.env.BENCH_PAGE_TRACE;
// Only the first seconds of the run (the walk, the first rows and writes): a trace of
// minutes is hundreds of MB, and saving it loads the machine the run measures.
const TRACE_S = process.env.BENCH_PAGE_TRACE_S ? Number(process.env.BENCH_PAGE_TRACE_S) : null;
const UNTIL = process.env.BENCH_PAGE_UNTIL ?? "sent";
const SOURCE = process.env.BENCH_PAGE_SOURCE ?? "input";
// A kept profile (its OPFS already holding the photos: writing 20,000 takes minutes) on
// the same port (OPFS is per origin). Kept after the run when given.
const KEEP_PROFILE = process.env.BENCH_PAGE_PROFILE_DIR;
const FIXED_PORT = process.env.BENCH_PAGE_PORT ? Number(process.env.BENCH_PAGE_PORT) : undefined;
const WORKERS = process.env.BENCH_PAGE_WORKERS ?? "api";
const SCENARIO = process.env.BENCH_PAGE_SCENARIO ?? "pick";
// BENCH_PAGE_SOURCE=handles: the bare page hashing the same folder first (hash-peer.mjs).
const PEER = process.env.BENCH_PAGE_PEER !== "0";
const NICE = process.env.BENCH_PAGE_NICE ? Number(process.env.BENCH_PAGE_NICE) : undefined;
// The local stack and this harness at nice 19 (proc-priority.mjs, niceStack): on a
// person's machine the server is not on their CPU. By default only for
// BENCH_PAGE_UNTIL=hashed: at nice 19 on a loaded machine the stack answers almost no PUTs,
// and the other modes wait for them. BENCH_PAGE_STACK_NICE=0 (or any value) decides.
const STACK_NICE = Number(process.env.BENCH_PAGE_STACK_NICE ?? (UNTIL === "hashed" ? 19 : 0));
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

// Before any script of the page: collect every long task, with the time of the pick.
const OBSERVE = () => {
  window.__longtasks = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      window.__longtasks.push({ start: e.startTime, ms: e.duration });
    }
  }).observe({ type: "longtask", buffered: true });
};

function summarize(tasks) {
  const sorted = [...tasks].sort((a, b) => b.ms - a.ms);
  // The pick's own task: the first one, where Chromium builds the file list.
  const rest = tasks.slice(1).sort((a, b) => b.ms - a.ms);
  return {
    count: tasks.length,
    over100: tasks.filter((t) => t.ms > 100).length,
    longest: Math.round(sorted[0]?.ms ?? 0),
    "after pick": Math.round(rest[0]?.ms ?? 0),
    top: sorted
      .slice(0, 10)
      .map((t) => `${Math.round(t.ms)} ms @ ${(t.start / 1000).toFixed(1)} s`),
  };
}

/** The peer: the same pick on a bare file input, nothing listening. */
async function barePick(context, files) {
  const page = await context.newPage();
  await page.setContent(
    `<script>(${OBSERVE})()</script><input type="file" multiple id="f" onchange="">`,
  );
  const t0 = await page.evaluate(() => performance.now());
  await page.locator("#f").setInputFiles(files);
  await page.waitForTimeout(2000);
  const tasks = await page.evaluate((t) => window.__longtasks.filter((x) => x.start >= t), t0);
  await page.close();
  return summarize(tasks);
}

/** The machine's load (other jobs share its cores): printed with each phase. */
const uptime = () =>
  `load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}`;

async function main() {
  if (SCENARIO === "resume") {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (apt-get install chromium)`);
    await benchResume({
      files: FILES,
      chromiumPath: CHROMIUM,
      args: ARGS,
      timeoutMs: TIMEOUT_MS,
      // BENCH_PAGE_RESUME=reload (or restart) runs one of the two.
      variants: (process.env.BENCH_PAGE_RESUME ?? "reload,restart").split(","),
    });
    return;
  }
  if (SCENARIO !== "pick") throw new Error("BENCH_PAGE_SCENARIO: pick or resume");
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (apt-get install chromium)`);
  if (!["input", "handles"].includes(SOURCE))
    throw new Error("BENCH_PAGE_SOURCE: input or handles");
  const imagesDir = mkdtempSync(path.join(tmpdir(), "darkroom-bench-page-"));
  const profileDir =
    KEEP_PROFILE ?? mkdtempSync(path.join(tmpdir(), "darkroom-bench-page-profile-"));
  const port = FIXED_PORT ?? (await freePort());
  let stack;
  let context;
  try {
    const t0 = performance.now();
    stack = await startStack({
      port,
      env: { DARKROOM_UPLOAD_ORIGIN: `http://127.0.0.1:${port}`, DARKROOM_WORKERS: WORKERS },
    });
    // Only while a page is measured: starting the stack and loading the page at nice 19
    // on a loaded machine took longer than Playwright's 30 s navigation timeout.
    let stackNice = 0;
    // And from the page's first hashed file on: the hash worker's script is served by the
    // stack, and at nice 19 its fetch took seconds here (a CDN's would not).
    const lowerStack = (nice = stackNice) => {
      stackNice = nice;
      if (STACK_NICE !== 0 && stack.pid) niceStack(stack.pid, nice);
    };
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
    });
    if (STACK_NICE !== 0) niceHarness(STACK_NICE);
    let files = [];
    let bytes = 0;
    let peer = null;
    let peerNote = "";
    if (SOURCE === "input") {
      ({ files, bytes } = await makePhotos(imagesDir, FILES));
      peer = await barePick(context, files);
    } else {
      bytes = await opfsBytes(context, stack.url, "bench", FILES);
      if (bytes === null) bytes = await writeOpfs(context, stack.url, "bench", FILES);
      if (PEER) {
        console.error(`bench:page: the peer (a bare page hashing the same folder), ${uptime()}`);
        const r = await hashPeer(context, stack.url, "bench", FILES, () => lowerStack(STACK_NICE));
        lowerStack(0);
        // No pick of Chromium's here either: every task is after the hand-off.
        peer = summarize(r.tasks);
        peer["after pick"] = peer.longest;
        peerNote = `the peer hashed ${r.hashed} files in ${r.seconds.toFixed(0)} s (${(r.hashed / r.seconds).toFixed(0)} files/s)`;
        console.error(`bench:page: ${peerNote}, ${uptime()}`);
      }
    }
    console.error(
      `bench:page: ${FILES} photos (${SOURCE}), ${(bytes / 1e6).toFixed(0)} MB, made in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    );

    const page = await context.newPage();
    await page.addInitScript(OBSERVE);
    page.on("pageerror", (e) => console.error("page error:", e.message));
    // A kept profile may hold an earlier run's batch and sign-in: start from nothing.
    await openFresh(page, stack.url);
    await page.getByTestId("user").fill(`bench-${Date.now().toString(36)}`);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByTestId("dropzone").waitFor();
    const cdp = await context.newCDPSession(page);
    await cdp.send("Performance.enable");

    const { stopProfile, traceEnded } = await startRecording(cdp, {
      profile: PROFILE,
      profileS: PROFILE_S,
      trace: TRACE,
      traceS: TRACE_S,
    });

    let maxRss = 0;
    let maxHeap = 0;
    const sampleMemory = async () => {
      if (NICE !== undefined) reniceBrowser(profileDir, NICE);
      // Threads the stack started since (workerd's, wrangler's) inherit, but not all.
      lowerStack();
      maxRss = Math.max(maxRss, ...rendererRss(profileDir), 0);
      const { metrics } = await cdp.send("Performance.getMetrics");
      const heap = metrics.find((m) => m.name === "JSHeapUsedSize")?.value ?? 0;
      maxHeap = Math.max(maxHeap, heap);
    };
    if (NICE !== undefined) reniceBrowser(profileDir, NICE);
    const pickAt = await page.evaluate(() => performance.now());
    const started = performance.now();
    const cpuBefore = browserThreadCpu(profileDir);
    console.error(`bench:page: the Darkroom page starts, ${uptime()}`);
    if (SOURCE === "input") await page.getByTestId("file-input").setInputFiles(files);
    else {
      await page.evaluate(async () => {
        const root = await navigator.storage.getDirectory();
        const handle = await root.getDirectoryHandle("bench");
        dispatchEvent(new CustomEvent("darkroom:handles", { detail: [handle] }));
      });
    }
    files = [];
    const deadline = Date.now() + TIMEOUT_MS;
    const attr = async (name) =>
      Number(
        (await page
          .getByTestId("progress")
          .getAttribute(name)
          .catch(() => null)) ?? 0,
      );
    const count = async (stage) =>
      (
        await page
          .getByTestId(`count-${stage}`)
          .textContent()
          .catch(() => "")
      )?.trim();
    const done = async () => {
      if (UNTIL === "hashed") return (await attr("data-hashed")) >= FILES;
      if (UNTIL === "server") return (await count("uploaded")) === `${FILES} / ${FILES}`;
      if (UNTIL === "searchable") return (await count("searchable")) === `${FILES} / ${FILES}`;
      return (await attr("data-sent")) >= FILES;
    };
    let hashedAt = null;
    let sentAt = null;
    let stoppedEarly = false;
    let lastLog = 0;
    while (!(await done())) {
      if (Date.now() > deadline) {
        // Figures so far rather than none: the machine's pace is not the page's.
        stoppedEarly = true;
        break;
      }
      if (stackNice === 0 && (await attr("data-hashed")) > 0) lowerStack(STACK_NICE);
      await sampleMemory();
      if (Date.now() - lastLog > 30_000) {
        lastLog = Date.now();
        // The server's stages too when they are what the run waits for: a 20,000-photo
        // run to all searchable takes the local processor's pace, and a run stopped at
        // the deadline still says how far it got and at what rate.
        const server =
          UNTIL === "server" || UNTIL === "searchable"
            ? `, uploaded ${await count("uploaded")}, searchable ${await count("searchable")}`
            : "";
        console.error(
          `bench:page: ${((performance.now() - started) / 1000).toFixed(0)} s: ${await attr("data-hashed")} hashed, ${await attr("data-sent")} sent${server}, renderer peak ${(maxRss / 1048576).toFixed(0)} MB`,
        );
      }
      if (hashedAt === null && (await attr("data-hashed")) >= FILES) hashedAt = performance.now();
      if (sentAt === null && (await attr("data-sent")) >= FILES) sentAt = performance.now();
      await page.waitForTimeout(1000);
    }
    const end = performance.now();
    // The window ends here: the trace's saving and the reads below are not the page's.
    const endAt = await page.evaluate(() => performance.now());
    const threads = topThreads(cpuBefore, browserThreadCpu(profileDir), (end - started) / 1000);
    hashedAt ??= end;
    await sampleMemory();
    const seconds = (end - started) / 1000;
    const manifestWrites = await attr("data-manifest-writes");
    const hashedNow = await attr("data-hashed");
    const sentNow = await attr("data-sent");
    await stopProfile();
    if (TRACE) await saveTrace(cdp, TRACE, traceEnded);
    const uasm = await page.evaluate(async () =>
      typeof performance.measureUserAgentSpecificMemory === "function" && crossOriginIsolated
        ? (await performance.measureUserAgentSpecificMemory()).bytes
        : null,
    );
    const tasks = await page.evaluate(
      ([from, to]) => window.__longtasks.filter((x) => x.start >= from && x.start <= to),
      [pickAt, endAt],
    );
    const app = summarize(tasks);
    // With handles there is no pick of Chromium's: every task after the hand-off is the page's.
    const afterPick = SOURCE === "input" ? app["after pick"] : app.longest;

    const rows = [];
    if (peer) {
      rows.push({
        run:
          SOURCE === "input"
            ? "bare <input>, same pick (peer)"
            : "bare page hashing the folder (peer)",
        ...peer,
        top: peer.top.slice(0, 3).join(", "),
      });
    }
    rows.push({
      run: `Darkroom page (${SOURCE}), until ${UNTIL}`,
      ...app,
      top: app.top.slice(0, 3).join(", "),
    });
    console.table(rows);
    const mb = (b) => `${(b / 1048576).toFixed(0)} MB`;
    console.log(
      `bench:page: ${FILES} photos (${SOURCE}) ${stoppedEarly ? `stopped at the deadline (${hashedNow} hashed, ${sentNow} PUTs done${UNTIL === "searchable" ? `, searchable ${await count("searchable")}` : ""})` : UNTIL} in ${seconds.toFixed(0)} s; all hashed after ${((hashedAt - started) / 1000).toFixed(0)} s (${(FILES / ((hashedAt - started) / 1000)).toFixed(0)} files/s), all PUTs done ${sentAt === null ? `: not yet (${sentNow} of ${FILES})` : `after ${((sentAt - started) / 1000).toFixed(0)} s`}`,
    );
    console.log(
      `bench:page: longest main-thread task ${app.longest} ms${peer && SOURCE === "input" ? `, ${(app.longest / Math.max(1, peer.longest)).toFixed(2)}x the bare input's ${peer.longest} ms for the same pick` : ""}; longest after the pick ${afterPick} ms (goal: under 100 ms)`,
    );
    if (peer && SOURCE === "handles") {
      console.log(
        `bench:page: peer (bare page hashing the same folder): longest task ${peer.longest} ms, ${peer.count} over 50 ms, ${peer.over100} over 100 ms; ${peerNote}`,
      );
    }
    console.log(
      `bench:page: the browser's threads used ${threads.total.toFixed(0)} s of CPU over the ${((end - started) / 1000).toFixed(0)} s; most: ${threads.top.join(", ")}`,
    );
    console.log(`bench:page: machine at the end: ${uptime()}`);
    console.log(
      `bench:page: renderer memory peak ${mb(maxRss)} RSS (goal: under 500 MB), JS heap peak ${mb(maxHeap)}${uasm === null ? "" : `, measureUserAgentSpecificMemory ${mb(uasm)}`}; manifest records written ${manifestWrites} (${(manifestWrites / FILES).toFixed(1)} per file)`,
    );
    console.log(`longest tasks: ${app.top.join("; ") || "none over 50 ms"}`);
    console.log(
      `bench:page: priorities: the browser ${NICE === undefined ? "at nice 0 (as started)" : `session (autogroup) and renderer main threads at nice ${NICE}`}; the local stack (session and threads) and this harness (threads) ${STACK_NICE === 0 ? "at nice 0 like the browser" : `at nice ${STACK_NICE}`}`,
    );
  } finally {
    await context?.close().catch(() => {});
    // Back to nice 0 first: at 19 on a loaded machine it took so long to exit that the
    // next run found its port still taken.
    if (stack?.pid && STACK_NICE !== 0) niceStack(stack.pid, 0);
    await stack?.stop();
    rmSync(imagesDir, { recursive: true, force: true });
    if (!KEEP_PROFILE) rmSync(profileDir, { recursive: true, force: true });
  }
}

await main();
