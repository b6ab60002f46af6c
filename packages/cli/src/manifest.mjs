// The resumable manifest: one JSON line appended per finished step, so a run stopped by
// Ctrl-C (or a crash mid-write: a torn last line is ignored) loses at most the files that
// were in flight. Reading it back, the last line about a path wins.
//
// Lines: { v: 1, batchId } once, then per file
//   { path, size, mtimeMs, sha256 }                      hashed
//   { path, size, mtimeMs, sha256, assetId, status }     done: "uploaded" | "duplicate"
import { appendFileSync, existsSync, readFileSync } from "node:fs";

export const MANIFEST_NAME = ".darkroom-manifest.jsonl";

export class Manifest {
  /** @param {string} file */
  constructor(file) {
    this.file = file;
    /** @type {string | undefined} */
    this.batchId = undefined;
    /** @type {Map<string, { path: string, size: number, mtimeMs: number, sha256: string, assetId?: string, status?: string }>} */
    this.entries = new Map();
    if (!existsSync(file)) return;
    for (const line of readFileSync(file, "utf8").split("\n")) {
      if (!line.trim()) continue;
      let rec;
      try {
        rec = JSON.parse(line);
      } catch {
        continue; // a torn last line from a kill mid-append
      }
      if (typeof rec?.batchId === "string" && rec.v === 1) this.batchId = rec.batchId;
      else if (typeof rec?.path === "string" && typeof rec.sha256 === "string") {
        this.entries.set(rec.path, { ...this.entries.get(rec.path), ...rec });
      }
    }
  }

  /** The entry of a file, only while it still has the same size and mtime. */
  lookup(path, size, mtimeMs) {
    const e = this.entries.get(path);
    return e && e.size === size && e.mtimeMs === mtimeMs ? e : undefined;
  }

  /** True when the file was uploaded or found to be a duplicate in an earlier run. */
  isDone(path, size, mtimeMs) {
    const status = this.lookup(path, size, mtimeMs)?.status;
    return status === "uploaded" || status === "duplicate";
  }

  setBatch(batchId) {
    if (this.batchId === batchId) return;
    this.batchId = batchId;
    this.#append({ v: 1, batchId });
  }

  record(entry) {
    this.entries.set(entry.path, { ...this.entries.get(entry.path), ...entry });
    this.#append(entry);
  }

  #append(rec) {
    // Synchronous append: each line is on disk before the next step starts.
    appendFileSync(this.file, `${JSON.stringify(rec)}\n`);
  }
}
