import { describe, expect, it } from "vitest";
import type { ManifestBatch, ManifestFile } from "../src/manifest";
import { ManifestWriter, WRITE_BUDGET_MS, type WriterDeps } from "../src/upload/manifest-writer";
import { freshRow, type Row } from "../src/upload/rows";
import { flush } from "./fake-clock";

/**
 * A writer whose clock moves only when a record is put (`costMs` each): the time budget
 * is tested without a real clock. The save resolves at once; each call is one transaction.
 */
function harness(costMs: number, refuse = false) {
  let t = 0;
  const timers: Array<() => void> = [];
  const transactions: Array<{ batch: ManifestBatch | null; files: ManifestFile[] }> = [];
  const deps: WriterDeps = {
    now: () => t,
    setTimer: (fn) => timers.push(fn),
    save: async (batch, files) => {
      if (refuse) throw new Error("QuotaExceededError");
      const taken: ManifestFile[] = [];
      for (const f of files) {
        taken.push(f);
        t += costMs;
      }
      transactions.push({ batch, files: taken });
    },
  };
  const writer = new ManifestWriter(() => ({ batchId: "b1", roots: [] }), deps);
  const fire = async () => {
    for (const fn of timers.splice(0)) fn();
    await flush();
  };
  return { writer, transactions, fire };
}

const rows = (n: number): Row[] =>
  Array.from({ length: n }, (_, i) =>
    freshRow(i, `c-${i}`, `photos/${i}.jpg`, { file: null, handle: null, root: 0 }),
  );

describe("ManifestWriter", () => {
  it("cuts a transaction once its records took the time budget, and writes every marked row once", async () => {
    const { writer, transactions, fire } = harness(1);
    const rs = rows(10);
    for (const r of rs) writer.touch(r);
    writer.touch(rs[0] as Row); // marked twice, written once
    await fire();
    expect(transactions.map((t) => t.files.length)).toEqual([
      WRITE_BUDGET_MS,
      WRITE_BUDGET_MS,
      10 - 2 * WRITE_BUDGET_MS,
    ]);
    expect(transactions.flatMap((t) => t.files.map((f) => f.seq))).toEqual(rs.map((r) => r.seq));
    expect(writer.written).toBe(10);
  });

  it("puts at most 500 records in a transaction however fast the machine", async () => {
    const { writer, transactions, fire } = harness(0);
    for (const r of rows(1200)) writer.touch(r);
    await fire();
    expect(transactions.map((t) => t.files.length)).toEqual([500, 500, 200]);
  });

  it("takes at least one record per transaction even when one takes longer than the budget", async () => {
    const { writer, transactions, fire } = harness(WRITE_BUDGET_MS * 3);
    for (const r of rows(3)) writer.touch(r);
    await fire();
    expect(transactions.map((t) => t.files.length)).toEqual([1, 1, 1]);
  });

  it("writes the batch record with the first transaction after it changed", async () => {
    const { writer, transactions, fire } = harness(1);
    writer.touchBatch();
    for (const r of rows(2)) writer.touch(r);
    await fire();
    expect(transactions[0]?.batch?.batchId).toBe("b1");
    expect(transactions.slice(1).every((t) => t.batch === null)).toBe(true);
  });

  it("stops when storage refuses before taking a record, rather than trying again in a loop", async () => {
    const { writer, transactions, fire } = harness(1, true);
    for (const r of rows(3)) writer.touch(r);
    await fire();
    expect(transactions).toEqual([]);
    expect(writer.written).toBe(0);
  });
});
