// `BENCH_PAGE_SCENARIO=resume npm run bench:page`: issue 24's done-when case. A drop of
// BENCH_PAGE_FILES photos (default 2,000) from a folder handle (the origin private file
// system's, handed to the page the way a folder picker's or a drop's is), interrupted when
// 40 % of the PUTs are answered (the rest are held, as if the tab closed mid-way), then:
//
//   reload   the page is reloaded;
//   restart  the browser (a persistent context, with its profile) is closed and opened
//            again, and the page visited anew.
//
// Each time one click on Resume, then the figures: files hashed again after the
// interruption (hash requests the resumed page posts to its workers), files uploaded
// twice (asset ids with more than one successful PUT), PUTs after the click, the server's
// assets (one per photo, distinct hashes) and the time from the click to every photo
// uploaded and to every photo searchable. The full stack runs (api, processor, embedder):
// "searchable" is the processor's and the embedder's word. Photos are 0.3-0.8 MP JPEGs
// (SMALL_SIZES) so the processor keeps up on a small machine; the page's side does not
// depend on their size.
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { SMALL_SIZES, writeOpfs } from "./lib/page-photos.mjs";
import { holdUploads, manifestHashed, openFresh } from "./lib/page-state.mjs";
import { freePort, login, startStack } from "./lib/stack.mjs";

/** Every page: count what is posted to workers (the hash pool's requests, one per file). */
const COUNT_HASHING = () => {
  window.__hashRequests = 0;
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (...args) {
    window.__hashRequests += 1;
    return post.apply(this, args);
  };
};

export async function benchResume({ files, chromiumPath, args, timeoutMs, variants }) {
  const held = Math.round(files * 0.4);
  const port = await freePort();
  const profileDir = mkdtempSync(path.join(tmpdir(), "darkroom-bench-resume-"));
  const launch = () =>
    chromium.launchPersistentContext(profileDir, {
      executablePath: chromiumPath,
      headless: true,
      args,
    });
  let stack;
  let context;
  const results = [];
  try {
    stack = await startStack({
      port,
      sweepSeconds: 5,
      env: { DARKROOM_UPLOAD_ORIGIN: `http://127.0.0.1:${port}` },
    });
    // The page on `localhost`, the upload URLs on 127.0.0.1: every PUT is cross-origin.
    const origin = `http://localhost:${port}`;
    context = await launch();
    for (const variant of variants) {
      const user = `bench-resume-${variant}-${Date.now().toString(36)}`;
      const t0 = performance.now();
      await writeOpfs(context, origin, variant, files, SMALL_SIZES);
      console.error(
        `bench:page resume (${variant}): ${files} photos in OPFS in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
      );
      let page = await context.newPage();
      await page.addInitScript(COUNT_HASHING);
      await openFresh(page, origin);
      await page.getByTestId("user").fill(user);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByTestId("dropzone").waitFor();
      // PUTs pass until `held` have succeeded; the rest hang until the interruption.
      // The route stays over the reload (taking it away would let the held PUTs go on):
      // it lets every PUT through once the gate opens, and the reload cancels the held
      // ones.
      // The hold also counts each asset's 2xx PUTs itself: a PUT that lands while the
      // browser closes has no page left to see its answer.
      const gate = { open: false };
      const through = await holdUploads(context, port, held, gate);
      const puts = through.puts;
      const dropped = performance.now();
      await page.evaluate(async (dir) => {
        const root = await navigator.storage.getDirectory();
        const handle = await root.getDirectoryHandle(dir);
        dispatchEvent(new CustomEvent("darkroom:handles", { detail: [handle] }));
      }, variant);
      const deadline = Date.now() + timeoutMs;
      // At least `held`: the server's count, which a PUT that landed unseen may pass.
      const uploaded = async () => Number.parseInt(await count(page, "uploaded"), 10) || 0;
      await until(page, deadline, async () => (await uploaded()) >= held);
      await until(page, deadline, async () => (await page.evaluate(manifestHashed)) === files);
      const uploadedBefore = await uploaded();
      const beforeSeconds = (performance.now() - dropped) / 1000;
      console.error(
        `bench:page resume (${variant}): ${uploadedBefore} uploaded and all hashed after ${beforeSeconds.toFixed(0)} s; interrupting`,
      );
      const hashedBefore = await page.evaluate(() => window.__hashRequests);

      if (variant === "reload") {
        await page.reload();
        gate.open = true;
      } else {
        await context.close();
        context = await launch();
        gate.open = true;
        await holdUploads(context, port, held, gate, through);
        page = await context.newPage();
        await page.addInitScript(COUNT_HASHING);
        await page.goto(`${origin}/`);
      }
      const putsBefore = sum(puts);
      const resume = page.getByRole("button", { name: "Resume" });
      await resume.waitFor({ timeout: timeoutMs });
      const waitingText = (await page.getByTestId("resume").textContent())?.trim() ?? "";
      const clicked = performance.now();
      await resume.click();
      await until(
        page,
        deadline,
        async () => (await count(page, "uploaded")) === `${files} / ${files}`,
      );
      const uploadedAt = performance.now();
      // The page's part is over here: what it hashed and PUT again is known before the
      // processor's pace decides when all are searchable.
      console.error(
        `bench:page resume (${variant}): all uploaded ${((uploadedAt - clicked) / 1000).toFixed(0)} s after the click; ${await page.evaluate(() => window.__hashRequests)} re-hashed, ${sum(puts) - putsBefore} PUTs after the click for ${waitingText.match(/(\d+) file\(s\)/)?.[1]} waiting, ${[...puts.values()].filter((n) => n > 1).length} uploaded twice; ${loadavg()[0].toFixed(1)} load`,
      );
      await until(
        page,
        deadline,
        async () => (await count(page, "searchable")) === `${files} / ${files}`,
      );
      const searchableAt = performance.now();
      const rehashed = await page.evaluate(() => window.__hashRequests);
      const assets = await listAssets(stack.url, user);
      results.push({
        variant,
        files,
        "interrupted after (s)": Math.round(beforeSeconds),
        "uploaded before": uploadedBefore,
        "hashed before": hashedBefore,
        waiting: Number(/(\d+) file\(s\) were not uploaded/.exec(waitingText)?.[1] ?? -1),
        "re-hashed": rehashed,
        "PUTs after click": sum(puts) - putsBefore,
        "uploaded twice": [...puts.values()].filter((n) => n > 1).length,
        assets: assets.length,
        "distinct sha256": new Set(assets.map((a) => a.sha256)).size,
        ready: assets.filter((a) => a.status === "ready").length,
        "click→all uploaded (s)": Math.round((uploadedAt - clicked) / 1000),
        "click→all searchable (s)": Math.round((searchableAt - clicked) / 1000),
      });
      console.error(`bench:page resume (${variant}):`, JSON.stringify(results.at(-1)));
      await page.close();
      await context.unrouteAll({ behavior: "ignoreErrors" });
    }
    console.table(results);
    for (const r of results) {
      console.log(
        `bench:page resume (${r.variant}): ${r.files} photos, interrupted at ${r["uploaded before"]} uploaded; Resume: ${r["re-hashed"]} re-hashed, ${r["uploaded twice"]} uploaded twice, ${r["PUTs after click"]} PUTs after the click for ${r.waiting} waiting; ${r.assets} assets (${r["distinct sha256"]} distinct, ${r.ready} ready); all uploaded ${r["click→all uploaded (s)"]} s and all searchable ${r["click→all searchable (s)"]} s after the click`,
      );
    }
  } finally {
    await context?.close().catch(() => {});
    await stack?.stop();
    rmSync(profileDir, { recursive: true, force: true });
  }
}

const sum = (m) => [...m.values()].reduce((a, b) => a + b, 0);

async function count(page, stage) {
  const el = page.getByTestId(`count-${stage}`);
  return (await el.count()) > 0 ? ((await el.textContent()) ?? "").trim() : "";
}

async function until(page, deadline, ok) {
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error("bench:page resume: past BENCH_PAGE_TIMEOUT_MS");
    await page.waitForTimeout(1000);
  }
}

async function listAssets(url, user) {
  const token = await login(url, user);
  const out = [];
  let cursor = null;
  do {
    const q = new URLSearchParams({ limit: "100", ...(cursor ? { cursor } : {}) });
    const res = await fetch(`${url}/api/assets?${q}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    const body = await res.json();
    out.push(...body.assets);
    cursor = body.nextCursor;
  } while (cursor);
  return out;
}
