import { describe, expect, it } from "vitest";
import { everyShard } from "../../../test/workerd/shards";
import { type Backlog, backlogRefusal } from "../src/lib/limits/backlog";
import { LIMITS, limits } from "../src/lib/limits/limits";
import { call, fileFor, jpegBytes, makeEnv, requestUploads, setStatus, signIn } from "./helpers";

async function count(sql: string, uid: string): Promise<number> {
  return (await everyShard.sum(sql).bind(uid).first<{ n: number }>())?.n ?? 0;
}
const assetsOf = (uid: string) => count("SELECT COUNT(*) AS n FROM assets WHERE user_id = ?", uid);
const batchesOf = (uid: string) =>
  count("SELECT COUNT(*) AS n FROM batches WHERE user_id = ?", uid);

function files(n: number) {
  return Promise.all(Array.from({ length: n }, () => fileFor(jpegBytes(16))));
}

type Refusal = { error: { code: string; message: string; details: Record<string, number> } };

describe("the cap on pending uploads", () => {
  it("refuses new files past it with 409, before writing anything, and admits them once some are sent", async () => {
    const { env: capped } = makeEnv({}, { MAX_PENDING_UPLOADS: "5" });
    const { token, uid } = await signIn();
    const first = await requestUploads(token, await files(3), { env: capped });
    expect(first.res.status).toBe(200);

    // 3 pending + 3 new > 5: refused whole, nothing written, not even a batch.
    const over = await requestUploads(token, await files(3), { env: capped });
    expect(over.res.status).toBe(409);
    const body: Refusal = await over.res.json();
    expect(body.error.code).toBe("pending_limit_reached");
    expect(body.error.details).toEqual({ pending: 3, maxPending: 5, requested: 3 });
    expect(body.error.message).toContain("DELETE /api/assets/:id");
    // A charged route: the refusal carries the work bucket's headers too.
    expect(over.res.headers.get("RateLimit-Policy")).toMatch(/^"work";/);
    expect(await assetsOf(uid)).toBe(3);
    expect(await batchesOf(uid)).toBe(1);

    // Up to the cap exactly is fine; past it even one file is refused.
    const fill = await requestUploads(token, await files(2), { env: capped });
    expect(fill.res.status).toBe(200);
    expect((await requestUploads(token, await files(1), { env: capped })).res.status).toBe(409);

    // One file's bytes arrive: one more may be registered.
    const sent = first.body.files[0]?.assetId ?? "";
    await setStatus(sent, "uploaded");
    expect((await requestUploads(token, await files(1), { env: capped })).res.status).toBe(200);
    // Deleting a pending one frees its place too.
    const pendingId = first.body.files[1]?.assetId ?? "";
    expect((await call(`/api/assets/${pendingId}`, { method: "DELETE", token })).status).toBe(204);
    expect((await requestUploads(token, await files(1), { env: capped })).res.status).toBe(200);
    expect((await requestUploads(token, await files(1), { env: capped })).res.status).toBe(409);
  });

  it("lets a user re-post the files already pending at the cap (their URLs are renewed)", async () => {
    const { env: capped } = makeEnv({}, { MAX_PENDING_UPLOADS: "2" });
    const { token } = await signIn();
    const two = await files(2);
    expect((await requestUploads(token, two, { env: capped })).res.status).toBe(200);
    const again = await requestUploads(token, two, { env: capped });
    expect(again.res.status).toBe(200);
    expect(again.body.files.map((f) => f.status)).toEqual(["upload", "upload"]);
  });

  it("counts only this user's pending files", async () => {
    const { env: capped } = makeEnv({}, { MAX_PENDING_UPLOADS: "2" });
    const a = await signIn();
    const b = await signIn();
    expect((await requestUploads(a.token, await files(2), { env: capped })).res.status).toBe(200);
    expect((await requestUploads(b.token, await files(2), { env: capped })).res.status).toBe(200);
  });

  it("never refuses a 2,000-photo drop at the default, in requests of 100", () => {
    const lim = limits({});
    let pending = 0;
    for (let i = 0; i < 20; i++) {
      const b: Backlog = { pending, emptyBatches: 0, oldestEmptyAt: null };
      expect(backlogRefusal(b, { newFiles: 100, newBatch: i === 0 }, lim, 0)).toBeNull();
      pending += 100;
    }
    expect(lim.maxPending).toBe(LIMITS.maxPending.default);
  });
});

describe("the cap on batches that own no asset", () => {
  it("refuses another batch of files all uploaded already with 409 and when to try again", async () => {
    const { env: capped } = makeEnv({}, { MAX_EMPTY_BATCHES: "3" });
    const { token, uid } = await signIn();
    const [file] = await files(1);
    const owner = await requestUploads(token, [file], { env: capped });
    for (const f of owner.body.files) await setStatus(f.assetId, "ready");
    for (let i = 0; i < 3; i++) {
      expect((await requestUploads(token, [file], { env: capped })).res.status).toBe(200);
    }
    expect(await batchesOf(uid)).toBe(4);

    // The oldest of the three was made 1,000 s ago: it leaves the window within 2,600 s.
    const before = Date.now();
    await everyShard
      .prepare(
        `UPDATE batches SET created_at = ? WHERE id = (
         SELECT b.id FROM batches b WHERE b.user_id = ? AND b.id != ? ORDER BY b.created_at LIMIT 1)`,
      )
      .bind(before - 1_000_000, uid, owner.body.batchId)
      .run();
    const refused = await requestUploads(token, [file], { env: capped });
    expect(refused.res.status).toBe(409);
    const body: Refusal = await refused.res.json();
    expect(body.error.code).toBe("empty_batch_limit_reached");
    expect(body.error.details).toMatchObject({ emptyBatches: 3, maxEmptyBatches: 3 });
    expect(body.error.details.retryAfterSeconds).toBeGreaterThan(0);
    expect(body.error.details.retryAfterSeconds).toBeLessThanOrEqual(2600);
    expect(await batchesOf(uid)).toBe(4);

    // Naming a batch makes none; a request with a new file makes one that owns it.
    const named = await requestUploads(token, [file], {
      env: capped,
      batchId: owner.body.batchId,
    });
    expect(named.res.status).toBe(200);
    expect((await requestUploads(token, await files(1), { env: capped })).res.status).toBe(200);

    // Once they are older than the TTL they no longer count (the sweeper deletes them).
    const ttlMs = LIMITS.emptyBatchTtlSeconds.default * 1000;
    await everyShard
      .prepare("UPDATE batches SET created_at = created_at - ? WHERE user_id = ?")
      .bind(ttlMs, uid)
      .run();
    expect((await requestUploads(token, [file], { env: capped })).res.status).toBe(200);
  });

  it("says when the oldest leaves the window", () => {
    const lim = { ...limits({}), maxEmptyBatches: 2, emptyBatchTtlSeconds: 3600 };
    const now = 10_000_000;
    const b: Backlog = { pending: 0, emptyBatches: 2, oldestEmptyAt: now - 3_000_500 };
    const refusal = backlogRefusal(b, { newFiles: 0, newBatch: true }, lim, now);
    expect(refusal?.details).toEqual({
      emptyBatches: 2,
      maxEmptyBatches: 2,
      retryAfterSeconds: 600,
    });
    expect(refusal?.message).toContain("try again in 600 s");
    expect(backlogRefusal(b, { newFiles: 0, newBatch: false }, lim, now)).toBeNull();
    expect(backlogRefusal(b, { newFiles: 1, newBatch: true }, lim, now)).toBeNull();
  });
});
