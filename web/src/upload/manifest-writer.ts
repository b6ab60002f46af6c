// Keeps the IndexedDB manifest in step with the rows, incrementally: a row that changed
// is marked, and a few hundred ms later the marked rows (only they) are written, one
// transaction per task, each cut at WRITE_BUDGET_MS of the main thread or WRITE_SLICE
// records, whichever comes first. Records hold no file handles (see PathResolver):
// cloning one costs ~0.8 ms of the main thread in Chromium.
//
// Why a time budget: in a 20,000-file drop's first seconds the writer's transactions of
// 500 records were the page's costliest tasks, 8-18 ms of the main thread's CPU each
// (`put` clones the record and sends it to the browser process; bench:page's trace), half
// the thread's CPU of those seconds. On a machine whose cores are busy, a task that long
// is often interrupted and waits for a core, which the long-task observer counts as its
// own. A budget keeps every one short however fast the machine is.
import type { Handle, PathResolver } from "../file-handles";
import { type ManifestBatch, type ManifestFile, saveManifest } from "../manifest";
import type { Row } from "./rows";

const SAVE_AFTER_MS = 300;
const WRITE_SLICE = 500;
/** The main thread's time one transaction's records may take to make and put. */
export const WRITE_BUDGET_MS = 4;

/** What the writer needs from outside: injected by the tests (no IndexedDB in Node). */
export type WriterDeps = {
  save: (batch: ManifestBatch | null, files: Iterable<ManifestFile>) => Promise<void>;
  now: () => number;
  setTimer: (fn: () => void, ms: number) => unknown;
};

const browserDeps: WriterDeps = {
  save: saveManifest,
  now: () => performance.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
};

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
  private timer: unknown = null;
  private writing = false;
  /** Records written so far (bench:page and the tests read it: no whole rewrites). */
  written = 0;

  constructor(
    private readonly batch: () => { batchId: string | null; roots: Handle[] },
    private readonly deps: WriterDeps = browserDeps,
  ) {}

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
    this.timer ??= this.deps.setTimer(() => {
      this.timer = null;
      void this.flush();
    }, SAVE_AFTER_MS);
  }

  private async flush(): Promise<void> {
    this.writing = true;
    try {
      while (this.dirty.size > 0 || this.batchDirty) {
        let batch: ManifestBatch | null = null;
        if (this.batchDirty) {
          this.batchDirty = false;
          batch = { ...this.batch(), createdAt: Date.now() };
        }
        const slice = this.slice();
        try {
          await this.deps.save(batch, slice);
          this.written += slice.taken;
        } catch {
          // Storage refused (quota, private mode): the batch goes on without a manifest.
          // Refused before it took a record: stop here (the next change tries again).
          if (slice.taken === 0) break;
        }
      }
    } finally {
      this.writing = false;
    }
  }

  /**
   * The next transaction's records, made as the transaction puts them: taken off the
   * marked rows until the budget or WRITE_SLICE is reached (at least one).
   */
  private slice(): Iterable<ManifestFile> & { taken: number } {
    const dirty = this.dirty;
    const { now } = this.deps;
    const out = {
      taken: 0,
      *[Symbol.iterator]() {
        const start = now();
        for (const r of dirty) {
          dirty.delete(r);
          out.taken += 1;
          yield recordOf(r);
          if (out.taken >= WRITE_SLICE || now() - start >= WRITE_BUDGET_MS) return;
        }
      },
    };
    return out;
  }
}
