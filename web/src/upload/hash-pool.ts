// Hashing off the main thread: a few workers (half the cores, 1 to 4), each given one
// file at a time; the answers come back through `onHashed`.
import type { HashRequest, HashResponse } from "../hash-worker";
import type { Row } from "./rows";

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
      while (row && !row.file) row = this.queue.shift();
      if (!row?.file) return;
      slot.busy = true;
      const id = this.nextId++;
      this.pending.set(id, row);
      slot.w.postMessage({ id, file: row.file } satisfies HashRequest);
    }
  }
}
