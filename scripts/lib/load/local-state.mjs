// What a local stack's D1 and R2 hold, read from miniflare's SQLite files (the chaos
// run's exactly-once checks).
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";

/**
 * What the local D1 and R2 hold (miniflare keeps them in SQLite files under the state
 * dir), read straight from the files: the chaos checks count what was written, not what
 * the api says.
 */
export async function localState(stateDir) {
  const { DatabaseSync } = await import("node:sqlite");
  const sqlite = (sub) => {
    const d = path.join(stateDir, "v3", sub);
    if (!existsSync(d)) return [];
    return readdirSync(d)
      .filter((f) => f.endsWith(".sqlite"))
      .map((f) => path.join(d, f));
  };
  const vectors = new Map();
  /** @type {Array<{ id: string, sha256: string, status: string }>} */
  const rows = [];
  for (const f of sqlite("d1/miniflare-D1DatabaseObject")) {
    const db = new DatabaseSync(f, { readOnly: true });
    try {
      for (const r of db
        .prepare("SELECT asset_id AS id, COUNT(*) AS n FROM asset_vectors GROUP BY asset_id")
        .all())
        vectors.set(r.id, r.n);
      for (const r of db.prepare("SELECT id, sha256, status FROM assets").all()) {
        rows.push({ id: String(r.id), sha256: String(r.sha256), status: String(r.status) });
      }
    } catch {
      // not the darkroom database
    }
    db.close();
  }
  const objects = new Map();
  for (const f of sqlite("r2/miniflare-R2BucketObject")) {
    const db = new DatabaseSync(f, { readOnly: true });
    try {
      for (const r of db.prepare("SELECT key FROM _mf_objects").all()) {
        const m = /^u\/[^/]+\/([^/]+)\/(.+)$/.exec(r.key);
        if (m) objects.set(m[1], [...(objects.get(m[1]) ?? []), m[2]]);
      }
    } catch {
      // another table layout
    }
    db.close();
  }
  return { vectors, objects, rows };
}
