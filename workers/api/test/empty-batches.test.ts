import { describe, expect, it } from "vitest";
import { dbOf, everyShard } from "../../../test/workerd/shards";
import { LIMITS } from "../src/lib/limits/limits";
import { EMPTY_BATCH_ROUNDS, sweepEmptyBatches } from "../src/sweep-empty-batches";
import { sweep } from "../src/sweeper";
import {
  call,
  fileFor,
  jpegBytes,
  makeEnv,
  refillSince,
  requestUploads,
  setStatus,
  signIn,
} from "./helpers";

const TTL_MS = LIMITS.emptyBatchTtlSeconds.default * 1000;

async function rows(uid: string) {
  const n = async (table: string) =>
    (
      await (
        await dbOf(uid)
      )
        .prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE user_id = ?`)
        .bind(uid)
        .first<{ n: number }>()
    )?.n;
  return { batches: await n("batches"), items: await n("batch_items") };
}

describe("re-posting files already uploaded", () => {
  it("is rate-limited, and the sweeper removes the batches that own nothing", async () => {
    const { token, uid } = await signIn();
    const files = await Promise.all(Array.from({ length: 100 }, () => fileFor(jpegBytes(16))));
    const first = await requestUploads(token, files);
    expect(first.res.status).toBe(200);
    for (const f of first.body.files) await setStatus(f.assetId, "ready");

    // 150 tokens left of the test project's 250 (refilled at 1 a second); 100 duplicates cost 10.
    const refilled = refillSince(60);
    let accepted = 0;
    for (;;) {
      const { res, body } = await requestUploads(token, files);
      if (res.status === 429) {
        expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
        expect(res.headers.get("RateLimit")).toMatch(/^"work";r=\d;t=\d+$/);
        break;
      }
      expect(body.files.every((f) => f.status === "duplicate")).toBe(true);
      accepted += 1;
      // 15 requests' worth, and one more for every 10 tokens a slow machine refilled meanwhile.
      expect(accepted).toBeLessThanOrEqual(16 + Math.ceil(refilled() / 10));
    }
    expect(accepted).toBeGreaterThanOrEqual(15);
    const made = { batches: accepted + 1, items: (accepted + 1) * 100 };
    expect(await rows(uid)).toEqual(made);

    // Within the TTL the duplicate-only batches stay (a page may still show one).
    await sweepEmptyBatches(makeEnv().env, Date.now());
    expect(await rows(uid)).toEqual(made);

    // Past it they go with their items; the batch that owns the 100 assets stays whole.
    const report = await sweep(makeEnv().env, Date.now() + TTL_MS + 1000);
    expect(report.emptyBatches).toBeGreaterThanOrEqual(accepted);
    expect(await rows(uid)).toEqual({ batches: 1, items: 100 });
    const stats = await call(`/api/stats?batchId=${first.body.batchId}`, { token });
    expect(await stats.json()).toMatchObject({ total: 100, ready: 100 });
  });

  it("keeps an old batch that had a file added within the TTL", async () => {
    const { token, uid } = await signIn();
    const f = await fileFor(jpegBytes());
    const a = await requestUploads(token, [f]);
    await setStatus(a.body.files[0]?.assetId ?? "", "ready");
    const dup = await requestUploads(token, [f]);
    await everyShard
      .prepare("UPDATE batches SET created_at = ? WHERE id = ?")
      .bind(Date.now() - 2 * TTL_MS, dup.body.batchId)
      .run();
    await sweepEmptyBatches(makeEnv().env, Date.now());
    expect(await rows(uid)).toEqual({ batches: 2, items: 2 });
    await sweepEmptyBatches(makeEnv().env, Date.now() + TTL_MS + 1000);
    expect(await rows(uid)).toEqual({ batches: 1, items: 1 });
  });

  it("sweeps a batch whose assets were all deleted", async () => {
    const { token, uid } = await signIn();
    const a = await requestUploads(token, [await fileFor(jpegBytes())]);
    const id = a.body.files[0]?.assetId ?? "";
    await setStatus(id, "ready");
    expect((await call(`/api/assets/${id}`, { method: "DELETE", token })).status).toBe(204);
    await sweepEmptyBatches(makeEnv().env, Date.now() + TTL_MS + 1000);
    expect(await rows(uid)).toEqual({ batches: 0, items: 0 });
  });

  it("sweeps more empty batches in one run than one round picks", async () => {
    const { uid } = await signIn();
    const old = Date.now() - 2 * TTL_MS;
    const ids = Array.from({ length: 250 }, () => crypto.randomUUID());
    const db = await dbOf(uid);
    await db.batch(
      ids.map((id) =>
        db
          .prepare("INSERT INTO batches (id, user_id, created_at) VALUES (?, ?, ?)")
          .bind(id, uid, old),
      ),
    );
    expect(await sweepEmptyBatches(makeEnv().env, Date.now())).toBeGreaterThanOrEqual(250);
    expect(await rows(uid)).toEqual({ batches: 0, items: 0 });
  });

  it("takes users in turns: one user's flood of empty batches does not hold back another's", async () => {
    const flooder = await signIn();
    const other = await signIn();
    const old = Date.now() - 2 * TTL_MS;
    const insert = async (uid: string, at: number) =>
      (await dbOf(uid))
        .prepare("INSERT INTO batches (id, user_id, created_at) VALUES (?, ?, ?)")
        .bind(crypto.randomUUID(), uid, at)
        .run();
    // The flooder's 30 batches are all older than the other user's one.
    for (let i = 0; i < 30; i++) await insert(flooder.uid, old - 1000 + i);
    await insert(other.uid, old);
    // One round of 10 (a run far smaller than the flood): the other user's batch is in it.
    await sweepEmptyBatches(makeEnv().env, Date.now(), { perRound: 10, rounds: 1 });
    expect(await rows(other.uid)).toEqual({ batches: 0, items: 0 });
    expect((await rows(flooder.uid)).batches).toBeGreaterThanOrEqual(20);
    // The default run still clears everything.
    await sweepEmptyBatches(makeEnv().env, Date.now(), EMPTY_BATCH_ROUNDS);
    expect(await rows(flooder.uid)).toEqual({ batches: 0, items: 0 });
  });
});
