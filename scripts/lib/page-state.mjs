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
