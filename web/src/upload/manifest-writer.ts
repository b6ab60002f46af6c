// Keeps the IndexedDB manifest in step with the rows, incrementally: a row that changed
// is marked, and a few hundred ms later the marked rows (only they) are written, at most
// WRITE_SLICE per transaction and one transaction per task, so 20,000 new rows never
// make one long structured-clone on the main thread. Records hold no file handles (see
// PathResolver): cloning one costs ~0.8 ms of the main thread in Chromium.
import type { Handle, PathResolver } from "../file-handles";
import { type ManifestBatch, type ManifestFile, saveManifest } from "../manifest";
import type { Row } from "./rows";

const SAVE_AFTER_MS = 300;
const WRITE_SLICE = 500;

export function recordOf(r: Row): ManifestFile {
  return {
    seq: r.seq,
    clientId: r.clientId,
    name: r.name,
    size: r.size,
    lastModified: r.lastModified,
    sha256: r.sha256,
    type: r.type,
    assetId: r.assetId,
    note: r.local === "skipped" || r.local === "duplicate" ? r.note : null,
    skipped: r.local === "skipped",
    sent: r.local === "sent",
    ...(r.root !== null ? { root: r.root } : {}),
  };
}

/** A record back into a row after a reload: not uploaded yet unless its PUT was answered. */
export function rowOf(f: ManifestFile, paths: PathResolver): Row {
  return {
    seq: f.seq,
    clientId: f.clientId,
    name: f.name,
    size: f.size,
    lastModified: f.lastModified,
    file: null,
    handle: f.root === undefined ? null : paths.handle(f.root, f.name),
    root: f.root ?? null,
    sha256: f.sha256,
    type: f.type ?? null,
    assetId: f.assetId,
    local: f.sent ? "sent" : f.skipped ? "skipped" : f.note ? "duplicate" : "needs-file",
    loaded: f.sent ? f.size : 0,
    note: f.note,
    attempts: 0,
  };
}

export class ManifestWriter {
  private readonly dirty = new Set<Row>();
  private batchDirty = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private writing = false;
  /** Records written so far (bench:page and the tests read it: no whole rewrites). */
  written = 0;

  constructor(private readonly batch: () => { batchId: string | null; roots: Handle[] }) {}

  touch(row: Row): void {
    this.dirty.add(row);
    this.soon();
  }

  touchBatch(): void {
    this.batchDirty = true;
    this.soon();
  }

  private soon(): void {
    if (this.writing) return;
    this.timer ??= setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, SAVE_AFTER_MS);
  }

  private async flush(): Promise<void> {
    this.writing = true;
    try {
      while (this.dirty.size > 0 || this.batchDirty) {
        const rows: Row[] = [];
        for (const r of this.dirty) {
          rows.push(r);
          this.dirty.delete(r);
          if (rows.length >= WRITE_SLICE) break;
        }
        let batch: ManifestBatch | null = null;
        if (this.batchDirty) {
          this.batchDirty = false;
          batch = { ...this.batch(), createdAt: Date.now() };
        }
        try {
          await saveManifest(batch, rows.map(recordOf));
          this.written += rows.length;
        } catch {
          // Storage refused (quota, private mode): the batch goes on without a manifest.
        }
      }
    } finally {
      this.writing = false;
    }
  }
}
