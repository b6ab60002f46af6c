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
//   npm run bench:page                      # 2,000 photos of 1-3 MP
//   BENCH_PAGE_FILES=500 npm run bench:page
//   BENCH_PAGE_PROFILE=/tmp/pick.cpuprofile npm run bench:page   # CPU profile of the first
//                                           # BENCH_PAGE_PROFILE_S seconds (20)
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import sharp from "sharp";
import { freePort, startStack } from "./lib/stack.mjs";

const CHROMIUM = "/usr/bin/chromium";
const FILES = Number(process.env.BENCH_PAGE_FILES ?? 2000);
const TIMEOUT_MS = Number(process.env.BENCH_PAGE_TIMEOUT_MS ?? 30 * 60_000);
const PROFILE = process.env.BENCH_PAGE_PROFILE;
const PROFILE_S = Number(process.env.BENCH_PAGE_PROFILE_S ?? 20);
const UNTIL_SERVER = process.env.BENCH_PAGE_UNTIL === "server";
const WORKERS = process.env.BENCH_PAGE_WORKERS ?? "api";
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

/**
 * Distinct 1-3 MP JPEGs, cheaply: a few base photos (smooth gradients with grain, so they
 * compress like photos rather than like flat colour), each copy made unique by a JPEG
 * comment segment (FF FE) right after the start-of-image marker.
 */
async function makePhotos(dir, n) {
  const sizes = [
    [1280, 960],
    [1600, 1200],
    [2048, 1536],
  ];
  const bases = [];
  for (let b = 0; b < 6; b++) {
    const [w, h] = sizes[b % sizes.length];
    const px = Buffer.alloc(w * h * 3);
    let seed = 17 + b;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        seed = (seed * 1664525 + 1013904223) >>> 0;
        const grain = (seed >>> 27) - 16;
        const i = (y * w + x) * 3;
        px[i] = Math.max(0, Math.min(255, ((x * 255) / w + b * 40 + grain) | 0));
        px[i + 1] = Math.max(0, Math.min(255, ((y * 255) / h + grain) | 0));
        px[i + 2] = Math.max(0, Math.min(255, (((x + y) * 128) / (w + h) + 60 + grain) | 0));
      }
    }
    bases.push(
      await sharp(px, { raw: { width: w, height: h, channels: 3 } })
        .jpeg({ quality: 82 })
        .toBuffer(),
    );
  }
  const files = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const base = bases[i % bases.length];
    const text = Buffer.from(`darkroom bench:page photo ${i}`);
    const com = Buffer.alloc(4);
    com.writeUInt16BE(0xfffe, 0);
    com.writeUInt16BE(text.length + 2, 2);
    const jpeg = Buffer.concat([base.subarray(0, 2), com, text, base.subarray(2)]);
    const file = path.join(dir, `photo-${String(i).padStart(4, "0")}.jpg`);
    writeFileSync(file, jpeg);
    files.push(file);
    bytes += jpeg.length;
  }
  return { files, bytes };
}

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

async function main() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (apt-get install chromium)`);
  const imagesDir = mkdtempSync(path.join(tmpdir(), "darkroom-bench-page-"));
  const profileDir = mkdtempSync(path.join(tmpdir(), "darkroom-bench-page-profile-"));
  const port = await freePort();
  let stack;
  let context;
  try {
    const t0 = performance.now();
    const { files, bytes } = await makePhotos(imagesDir, FILES);
    console.error(
      `bench:page: ${files.length} photos, ${(bytes / 1e6).toFixed(0)} MB, made in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    );
    stack = await startStack({
      port,
      env: { DARKROOM_UPLOAD_ORIGIN: `http://127.0.0.1:${port}`, DARKROOM_WORKERS: WORKERS },
    });
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
    });

    const peer = await barePick(context, files);

    const page = await context.newPage();
    await page.addInitScript(OBSERVE);
    page.on("pageerror", (e) => console.error("page error:", e.message));
    await page.goto(`${stack.url}/`);
    await page.getByTestId("user").fill(`bench-${Date.now().toString(36)}`);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByTestId("dropzone").waitFor();

    // A CPU profile of the first PROFILE_S seconds (or up to the end, if sooner).
    let stopProfile = async () => {};
    if (PROFILE) {
      const cdp = await context.newCDPSession(page);
      await cdp.send("Profiler.enable");
      await cdp.send("Profiler.setSamplingInterval", { interval: 1000 });
      await cdp.send("Profiler.start");
      let stopped = false;
      stopProfile = async () => {
        if (stopped) return;
        stopped = true;
        clearTimeout(timer);
        const { profile } = await cdp.send("Profiler.stop");
        writeFileSync(PROFILE, JSON.stringify(profile));
        console.error(`bench:page: CPU profile in ${PROFILE}`);
      };
      const timer = setTimeout(() => void stopProfile(), PROFILE_S * 1000);
    }

    const pickAt = await page.evaluate(() => performance.now());
    const started = performance.now();
    await page.getByTestId("file-input").setInputFiles(files);
    const deadline = Date.now() + TIMEOUT_MS;
    const done = async () =>
      UNTIL_SERVER
        ? (await page.getByTestId("count-uploaded").textContent())?.trim() === `${FILES} / ${FILES}`
        : Number(await page.getByTestId("progress").getAttribute("data-sent")) >= FILES;
    while (!(await done().catch(() => false))) {
      if (Date.now() > deadline) throw new Error("not all uploaded in time");
      await page.waitForTimeout(500);
    }
    const seconds = (performance.now() - started) / 1000;
    await stopProfile();
    const tasks = await page.evaluate(
      (t) => window.__longtasks.filter((x) => x.start >= t),
      pickAt,
    );
    const app = summarize(tasks);

    const rows = [
      { run: "bare <input>, same pick (peer)", ...peer, top: peer.top.slice(0, 3).join(", ") },
      { run: `Darkroom page, pick → all uploaded`, ...app, top: app.top.slice(0, 3).join(", ") },
    ];
    console.table(rows);
    console.log(
      `bench:page: ${FILES} photos uploaded in ${seconds.toFixed(0)} s; longest main-thread task ${app.longest} ms, ${(app.longest / Math.max(1, peer.longest)).toFixed(2)}x the bare input's ${peer.longest} ms for the same pick; longest after the pick's own task ${app["after pick"]} ms (goal: none over 100 ms)`,
    );
    console.log(`longest tasks: ${app.top.join("; ") || "none over 50 ms"}`);
  } finally {
    await context?.close().catch(() => {});
    await stack?.stop();
    rmSync(imagesDir, { recursive: true, force: true });
    rmSync(profileDir, { recursive: true, force: true });
  }
}

await main();
