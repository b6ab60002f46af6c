// Hashing off the main thread: a few workers (half the cores, 1 to 4), each given one
// file at a time; the answers come back through `onHashed`. A row with a handle is read
// (getFile) only when a worker is free for it: a 20,000-file drop never holds 20,000 Files.
import { type DirHandle, walk } from "../file-handles";
import type { HashRequest, HashResponse, WalkRequest, WalkResponse } from "../hash-worker";
import { fileOf, type Row } from "./rows";

export class HashPool {
  private readonly queue: Row[] = [];
  private readonly pending = new Map<number, Row>();
  private workers: Array<{ w: Worker; busy: boolean }> = [];
  private readonly walks = new Map<number, (m: WalkResponse) => void>();
  private nextId = 1;

  constructor(
    private readonly onHashed: (row: Row, r: HashResponse) => void,
    private readonly workerUrl = "/hash-worker.js",
  ) {}

  add(rows: Iterable<Row>): void {
    for (const r of rows) this.queue.push(r);
    this.pump();
  }

  /** Nothing waiting and nothing in a worker. */
  get idle(): boolean {
    return this.queue.length === 0 && this.pending.size === 0;
  }

  /**
   * The paths of the files under a folder, walked by a hash worker (see WalkRequest), a
   * slice at a time; on the page where the handle cannot be posted to a worker.
   */
  async *walk(root: DirHandle, slice: number): AsyncGenerator<string[]> {
    const slot = this.ensureWorkers()[0];
    const id = this.nextId++;
    const inbox: WalkResponse[] = [];
    let wake: (() => void) | null = null;
    this.walks.set(id, (m) => {
      inbox.push(m);
      wake?.();
      wake = null;
    });
    try {
      try {
        slot?.w.postMessage({ walk: id, root, slice } satisfies WalkRequest);
      } catch {
        // DataCloneError: not a handle the browser can hand to a worker.
        yield* walk(root, slice);
        return;
      }
      for (;;) {
        const m = inbox.shift();
        if (!m) {
          await new Promise<void>((r) => {
            wake = r;
          });
          continue;
        }
        if ("paths" in m) yield m.paths;
        else if ("error" in m) throw new Error(m.error);
        else return;
      }
    } finally {
      this.walks.delete(id);
    }
  }

  private ensureWorkers(): Array<{ w: Worker; busy: boolean }> {
    if (this.workers.length === 0) {
      const n = Math.max(1, Math.min(4, Math.floor((navigator.hardwareConcurrency || 2) / 2)));
      for (let i = 0; i < n; i++) {
        const w = new Worker(this.workerUrl);
        const slot = { w, busy: false };
        w.onmessage = (e: MessageEvent<HashResponse | WalkResponse>) => {
          if ("walk" in e.data) {
            this.walks.get(e.data.walk)?.(e.data);
            return;
          }
          slot.busy = false;
          const row = this.pending.get(e.data.id);
          this.pending.delete(e.data.id);
          if (row) this.onHashed(row, e.data);
          this.pump();
        };
        this.workers.push(slot);
      }
    }
    return this.workers;
  }

  private pump(): void {
    for (const slot of this.ensureWorkers()) {
      if (slot.busy) continue;
      let row = this.queue.shift();
      while (row && !row.file && !row.handle) row = this.queue.shift();
      if (!row) return;
      slot.busy = true;
      const id = this.nextId++;
      const taken = row;
      this.pending.set(id, taken);
      fileOf(taken)
        .then((file) => {
          if (!file) throw new Error("the file is gone");
          slot.w.postMessage({ id, file } satisfies HashRequest);
        })
        .catch((err: unknown) => {
          // Vanished or unreadable since the pick: a verdict like the worker's own.
          slot.busy = false;
          this.pending.delete(id);
          const reason = `could not read the file: ${err instanceof Error ? err.message : String(err)}`;
          this.onHashed(taken, {
            id,
            size: taken.size,
            lastModified: taken.lastModified,
            ok: false,
            reason,
          });
          this.pump();
        });
    }
  }
}
