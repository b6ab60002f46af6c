// The batch manifest in IndexedDB: what was dropped, its hashes, asset ids and (where the
// browser gives them) the handles of what the person gave, so a reload can ask the server
// for the batch's true state and resume with one click (handles) or offer to re-pick the
// files (no handles).
// One record per file, keyed by its place in the drop: a change writes the files that
// changed, never the whole manifest again (20,000 files made that quadratic). The batch
// record holds the batch id and the roots the person gave (folders, loose files): their
// handles, which Resume asks read access for; a file record names its root and its path
// under it (PathResolver finds the file's handle again).
import type { Handle } from "./file-handles";

export type ManifestFile = {
  /** Its place in the drop: the record's key, and the list's order after a reload. */
  seq: number;
  clientId: string;
  name: string;
  size: number;
  lastModified: number;
  sha256: string | null;
  /** The sniffed type: with sha256, what registering again needs (no re-hash). */
  type?: string | null;
  assetId: string | null;
  /** Local verdict that needs no server: skipped (with reason) or a duplicate in the drop. */
  note: string | null;
  skipped: boolean;
  /** Its PUT was answered 2xx: never sent again, whatever the server says yet. */
  sent?: boolean;
  /** Where the browser gave a handle: the index of its root (its path is `name`). */
  root?: number;
};

export type ManifestBatch = { batchId: string | null; createdAt: number; roots: Handle[] };
export type Manifest = ManifestBatch & { files: ManifestFile[] };

const DB = "darkroom";
const VERSION = 2;
const BATCH = "batch";
const FILES = "files";
const KEY = "current";
/** Records read per request after a reload: the page stays responsive with 20,000. */
const READ_PAGE = 2000;

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      db.createObjectStore(BATCH);
      db.createObjectStore(FILES, { keyPath: "seq" });
      // Version 1 kept the whole manifest in one record: carry an interrupted batch over.
      if (!db.objectStoreNames.contains("manifests")) return;
      const old = req.transaction?.objectStore("manifests").get(KEY);
      if (!old) return;
      old.onsuccess = () => {
        const m = old.result as
          | { batchId: string | null; createdAt: number; files: Omit<ManifestFile, "seq">[] }
          | undefined;
        const t = req.transaction;
        if (m && t) {
          t.objectStore(BATCH).put({ batchId: m.batchId, createdAt: m.createdAt, roots: [] }, KEY);
          for (const [seq, f] of m.files.entries()) t.objectStore(FILES).put({ ...f, seq });
        }
        db.deleteObjectStore("manifests");
      };
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

let shared: Promise<IDBDatabase> | null = null;
/** One connection for the page's life (a save every few hundred ms would reopen it). */
function db(): Promise<IDBDatabase> {
  shared ??= open().then((d) => {
    // Another tab upgrading the schema: let it, and open anew next time.
    d.onversionchange = () => {
      d.close();
      shared = null;
    };
    return d;
  });
  return shared;
}

function done(t: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    t.oncomplete = () => resolve();
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

export async function loadManifest(): Promise<Manifest | null> {
  const d = await db();
  const batch = (await request(d.transaction(BATCH).objectStore(BATCH).get(KEY))) as
    | ManifestBatch
    | undefined;
  if (!batch) return null;
  const files: ManifestFile[] = [];
  let after: IDBKeyRange | undefined;
  for (;;) {
    const page = (await request(
      d.transaction(FILES).objectStore(FILES).getAll(after, READ_PAGE),
    )) as ManifestFile[];
    files.push(...page);
    const last = page.at(-1);
    if (page.length < READ_PAGE || !last) break;
    after = IDBKeyRange.lowerBound(last.seq, true);
  }
  return { ...batch, roots: batch.roots ?? [], files };
}

/**
 * The batch record (id, roots) and the given file records, in one transaction. Relaxed
 * durability: the commit is done once the OS has the data, without waiting for it to be
 * flushed to disk (an fsync per transaction, hundreds in a big drop, in the browser
 * process). A crashed tab or browser loses nothing; a power cut may lose the last
 * records, and those files are then hashed or registered again on Resume, never stored
 * twice (the server answers `duplicate`).
 * https://developer.mozilla.org/docs/Web/API/IDBTransaction/durability
 */
export async function saveManifest(
  batch: ManifestBatch | null,
  files: Iterable<ManifestFile>,
): Promise<void> {
  const d = await db();
  const t = d.transaction([BATCH, FILES], "readwrite", { durability: "relaxed" });
  if (batch) t.objectStore(BATCH).put(batch, KEY);
  const store = t.objectStore(FILES);
  for (const f of files) store.put(f);
  await done(t);
}

export async function clearManifest(): Promise<void> {
  const d = await db();
  const t = d.transaction([BATCH, FILES], "readwrite");
  t.objectStore(BATCH).clear();
  t.objectStore(FILES).clear();
  await done(t);
}
