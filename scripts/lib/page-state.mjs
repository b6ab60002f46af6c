// The page's own stored state, as the browser tests (test/browser/kit.ts) and the page
// benchmarks (bench:page, bench:page resume) start from it and read it: one copy of each.

/**
 * Opens `origin` in `page` signed out with no stored batch: a kept profile may hold an
 * earlier run's sign-in (localStorage) and manifest (IndexedDB `darkroom`).
 */
export async function openFresh(page, origin) {
  await page.goto(`${origin}/`);
  await page.evaluate(async () => {
    localStorage.clear();
    await new Promise((r) => {
      const req = indexedDB.deleteDatabase("darkroom");
      req.onsuccess = req.onerror = req.onblocked = () => r(null);
    });
  });
  await page.reload();
}

/**
 * Runs in the page (`page.evaluate(manifestHashed)`): how many records of its IndexedDB
 * manifest hold a sha256 and name their root handle, 0 before the manifest exists.
 */
export function manifestHashed() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open("darkroom");
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      if (!db.objectStoreNames.contains("files")) {
        db.close();
        resolve(0);
        return;
      }
      const all = db.transaction("files").objectStore("files").getAll();
      all.onsuccess = () => {
        db.close();
        resolve(all.result.filter((r) => r.sha256 && r.root !== undefined).length);
      };
      all.onerror = () => reject(all.error);
    };
  });
}

/**
 * Interrupts a drop at a known point: the local-upload PUTs of `context` pass until `held`
 * have succeeded, the rest hang (as if the tab closed mid-way) until `gate.open` is set,
 * then all pass. A PUT that fails (a loaded machine's 5xx or reset) frees its place for
 * the retry; one that landed though its answer was lost counts on the server, so at
 * least `held` are uploaded at the held point, and PUTs let through just before it may
 * still land after it: wait for `inflight` to reach 0, then ask the server.
 *
 * Every PUT that passes is fetched here, so `puts` counts each asset's successful PUTs
 * (the signed URL's last path segment) even when the page is gone before the answer
 * arrives (a browser closed mid-PUT); pass the same `through` to the context that takes
 * over. Returns the live counts `{ ok, inflight, puts }`.
 */
export async function holdUploads(
  context,
  port,
  held,
  gate,
  through = { ok: 0, inflight: 0, puts: new Map() },
) {
  await context.route(`http://127.0.0.1:${port}/api/local-upload/**`, async (route) => {
    if (route.request().method() !== "PUT") return route.continue();
    if (!gate.open && through.ok + through.inflight >= held) return new Promise(() => {});
    through.inflight += 1;
    try {
      // No timeout: on a loaded machine a PUT can outlast the default 30 s, and one that
      // timed out here after landing would be counted twice.
      const res = await route.fetch({ timeout: 0 });
      if (res.status() >= 200 && res.status() < 300) {
        through.ok += 1;
        const id = new URL(route.request().url()).pathname.split("/").pop() ?? "";
        through.puts.set(id, (through.puts.get(id) ?? 0) + 1);
      }
      await route.fulfill({ response: res });
    } catch {
      await route.abort().catch(() => {});
    } finally {
      through.inflight -= 1;
    }
  });
  return through;
}
