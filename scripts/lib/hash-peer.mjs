// bench:page's peer for BENCH_PAGE_SOURCE=handles: the same OPFS folder hashed by a bare
// page of the same origin, in the same browser and run — the least any page can do with
// a folder handle: walk it, read each file (getFile) and hand it to one dedicated worker
// that hashes it (crypto.subtle.digest), count the answers on screen once per frame. No
// rows, no list, no manifest, no registration, no uploads. Its long tasks are what the
// browser's own file reading and the machine's load cost a page's main thread; the
// Darkroom page's are compared with them.

/** Runs in the peer page: walks `dir`, one file at a time through the worker. */
const PEER = async ({ dir, n }) => {
  window.__longtasks = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      window.__longtasks.push({ start: e.startTime, ms: e.duration });
    }
  }).observe({ type: "longtask" });
  const src = `onmessage = async (e) => {
    const digest = await crypto.subtle.digest("SHA-256", await e.data.arrayBuffer());
    postMessage(new Uint8Array(digest)[0]);
  };`;
  const worker = new Worker(URL.createObjectURL(new Blob([src], { type: "text/javascript" })));
  const out = document.createElement("p");
  document.body.append(out);
  let hashed = 0;
  let drawn = false;
  const started = performance.now();
  const root = await navigator.storage.getDirectory();
  const d = await root.getDirectoryHandle(dir);
  for await (const h of d.values()) {
    if (h.kind !== "file") continue;
    const file = await h.getFile();
    await new Promise((resolve) => {
      worker.onmessage = resolve;
      worker.postMessage(file);
    });
    hashed += 1;
    if (!drawn) {
      drawn = true;
      requestAnimationFrame(() => {
        drawn = false;
        out.textContent = `${hashed} / ${n} hashed`;
      });
    }
  }
  worker.terminate();
  return { hashed, seconds: (performance.now() - started) / 1000, from: started };
};

/**
 * The peer's run over OPFS folder `dir` of `n` files at `url`'s origin: its long tasks
 * (from the walk's start), files hashed and the seconds it took. `beforeRun` is called
 * once the peer's page is loaded, before the walk (bench:page lowers the stack's priority).
 */
export async function hashPeer(context, url, dir, n, beforeRun = () => {}) {
  const page = await context.newPage();
  // Any document of the origin (OPFS is per origin): the API's JSON 404 has no script.
  await page.goto(`${url}/bench-page-peer`);
  await page.setContent("<!doctype html><title>peer</title><body></body>");
  beforeRun();
  const r = await page.evaluate(PEER, { dir, n });
  const tasks = await page.evaluate((t) => window.__longtasks.filter((x) => x.start >= t), r.from);
  await page.close();
  return { ...r, tasks };
}
