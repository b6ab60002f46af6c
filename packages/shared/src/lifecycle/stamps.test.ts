// The lifecycle timestamps the ops metrics read (docs/operations.md, "Ops metrics"); runs
// in workerd with a real D1, in the processor's test project like lifecycle.test.ts.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { everyShard, placeTestUser } from "../../../../test/workerd/shards";
import { claimStage, release, runClaimed, type StageSpec } from "./stage";
import { lifecycleFor, transition, writeAsset } from "./write";

const processing: StageSpec = {
  name: "processing",
  from: "uploaded",
  claimed: "processing",
  done: "processed",
  leaseMs: 60_000,
};

type Stamps = {
  status: string;
  status_at: number | null;
  uploaded_at: number | null;
  processed_at: number | null;
  ready_at: number | null;
};

async function pendingAsset() {
  const uid = crypto.randomUUID();
  const id = crypto.randomUUID();
  const db = await placeTestUser(uid, uid);
  await db.batch([
    db
      .prepare(
        `INSERT INTO assets (id, user_id, batch_id, name, size, type, sha256, status, version,
         created_at, updated_at, status_at)
       VALUES (?, ?, ?, 'a.jpg', 10, 'image/jpeg', ?, 'pending', 1, 1, 1, 1)`,
      )
      .bind(id, uid, crypto.randomUUID(), id.replaceAll("-", "").padEnd(64, "0")),
  ]);
  // A clock the test moves by hand: each step is a later millisecond, whatever the machine.
  const clock = { t: 1_000 };
  const lc = await lifecycleFor(env, uid, () => clock.t);
  const tick = () => {
    clock.t += 5;
  };
  const read = async () => {
    const row = await everyShard
      .prepare(
        "SELECT status, status_at, uploaded_at, processed_at, ready_at FROM assets WHERE id = ?",
      )
      .bind(id)
      .first<Stamps>();
    if (!row) throw new Error("row gone");
    return row;
  };
  return { id, lc, read, tick };
}

describe("lifecycle timestamps", () => {
  it("stamp each status change, and a hand-back keeps the stage's first time", async () => {
    const { id, lc, read, tick } = await pendingAsset();
    await transition(lc, id, "pending", "uploaded");
    const uploaded = await read();
    expect(uploaded.uploaded_at).not.toBeNull();
    expect(uploaded.status_at).toBe(uploaded.uploaded_at);

    tick();
    const claim = await claimStage(lc, processing, {
      id,
      status: "uploaded",
      claimedAt: null,
      claimToken: null,
    });
    if (!claim || "outcome" in claim) throw new Error("no claim");
    const claimed = await read();
    expect(claimed.status_at).toBeGreaterThan(uploaded.uploaded_at ?? 0);
    // A transient failure hands it back: `uploaded` again, its first arrival kept.
    tick();
    await release(claim);
    const handedBack = await read();
    expect(handedBack).toMatchObject({ status: "uploaded", uploaded_at: uploaded.uploaded_at });
    expect(handedBack.status_at).toBeGreaterThan(claimed.status_at ?? 0);

    const again = await claimStage(lc, processing, {
      id,
      status: "uploaded",
      claimedAt: null,
      claimToken: null,
    });
    if (!again || "outcome" in again) throw new Error("no claim");
    tick();
    await runClaimed(again, async () => ({ set: {}, cleanup: async () => undefined }));
    const processed = await read();
    expect(processed.status).toBe("processed");
    expect(processed.processed_at).toBe(processed.status_at);
    expect(processed.uploaded_at).toBe(uploaded.uploaded_at);

    await transition(lc, id, "processed", "embedding");
    tick();
    await transition(lc, id, "embedding", "ready");
    const ready = await read();
    expect(ready.ready_at).toBe(ready.status_at);
    expect(ready.processed_at).toBe(processed.processed_at);
  });

  it("leave them alone on a write that does not change the status", async () => {
    const { id, lc, read } = await pendingAsset();
    await writeAsset(lc, id, undefined, { updatedAt: lc.now() + 60_000 });
    expect(await read()).toMatchObject({ status: "pending", status_at: 1, uploaded_at: null });
  });
});
