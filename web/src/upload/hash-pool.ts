// Hashing off the main thread: a few workers (half the cores, 1 to 4), each given one
// file at a time; the answers come back through `onHashed`. A row with a handle is read
// (getFile) only when a worker is free for it: a 20,000-file drop never holds 20,000 Files.
import type { HashRequest, HashResponse } from "../hash-worker";
import { fileOf, type Row } from "./rows";

export class HashPool {
  private readonly queue: Row[] = [];
  private readonly pending = new Map<number, Row>();
  private workers: Array<{ w: Worker; busy: boolean }> = [];
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

  private pump(): void {
    if (this.workers.length === 0) {
      const n = Math.max(1, Math.min(4, Math.floor((navigator.hardwareConcurrency || 2) / 2)));
      for (let i = 0; i < n; i++) {
        const w = new Worker(this.workerUrl);
        const slot = { w, busy: false };
        w.onmessage = (e: MessageEvent<HashResponse>) => {
          slot.busy = false;
          const row = this.pending.get(e.data.id);
          this.pending.delete(e.data.id);
          if (row) this.onHashed(row, e.data);
          this.pump();
        };
        this.workers.push(slot);
      }
    }
    for (const slot of this.workers) {
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
