// The batch manifest in IndexedDB: what was dropped, its hashes and asset ids, so a
// reload can ask the server for the batch's true state and offer to re-pick the files
// that never finished uploading.

export type ManifestFile = {
  clientId: string;
  name: string;
  size: number;
  lastModified: number;
  sha256: string | null;
  assetId: string | null;
  /** Local verdict that needs no server: skipped (with reason) or a duplicate in the drop. */
  note: string | null;
  skipped: boolean;
};

export type Manifest = { batchId: string | null; createdAt: number; files: ManifestFile[] };

const DB = "darkroom";
const STORE = "manifests";
const KEY = "current";

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function tx<T>(
  mode: IDBTransactionMode,
  f: (s: IDBObjectStore) => IDBRequest<T>,
): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const req = f(db.transaction(STORE, mode).objectStore(STORE));
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  } finally {
    db.close();
  }
}

export async function loadManifest(): Promise<Manifest | null> {
  const m = await tx<Manifest | undefined>("readonly", (s) => s.get(KEY));
  return m ?? null;
}

export function saveManifest(m: Manifest): Promise<IDBValidKey> {
  return tx("readwrite", (s) => s.put(m, KEY));
}

export function clearManifest(): Promise<undefined> {
  return tx("readwrite", (s) => s.delete(KEY));
}
