import { env } from "cloudflare:workers";
import {
  abortMove,
  type Claim,
  claimStage,
  isUserMoving,
  lifecycleFor,
  lifecycleTimings,
  MoveError,
  moveUser,
  notCopied,
  runClaimed,
  searchText,
  shardDatabase,
  stageSpec,
  storeFor,
  USER_TABLES,
} from "@darkroom/shared";
import { describe, expect, it } from "vitest";
import { VectorizeTestDouble } from "../../../packages/shared/test/vectorize-test-double";
import { placeTestUser, uidOnShard } from "../../../test/workerd/shards";
import { statusCounts } from "../src/lib/answers/stats";
import { makeEnv } from "./helpers";
import { DESCRIPTOR, library, rowsOf } from "./move-helpers";

// The move of a user between shards (packages/shared/src/lifecycle/move-user.ts, DESIGN.md
// "Sharding: moving a user"): its state machine against the two shards of the test env.

async function opsCounted(db: D1Database): Promise<number> {
  const r = await db
    .prepare("SELECT COALESCE(SUM(n), 0) AS n FROM ops_counts")
    .first<{ n: number }>();
  return r?.n ?? 0;
}

describe("moving a user between shards", () => {
  it("lists every table of a shard as copied or as left alone, and copies every table with a user_id", async () => {
    const db = shardDatabase(env, 0);
    // D1 refuses pragma_table_info: the CREATE statement says which columns a table has.
    const { results } = await db
      .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
      .all<{ name: string; sql: string | null }>();
    expect(results.map((r) => r.name)).toContain("assets");
    const copied = new Set(USER_TABLES.map((t) => t.name));
    const unlisted = results.map((r) => r.name).filter((n) => !copied.has(n) && !notCopied(n));
    expect(unlisted).toEqual([]);
    // A table with a user's rows is copied, or named as derived from copied ones.
    const owned = results
      .filter((r) => /[`"\s(]user_id[`"\s]/.test(r.sql ?? ""))
      .map((r) => r.name);
    expect(owned.filter((n) => !copied.has(n)).sort()).toEqual([
      // The move's own fences, the directory's map and moves, the derived counters.
      "shard_fences",
      "user_moves",
      "user_shards",
      "user_status_counts",
    ]);
    for (const t of copied) expect(owned).toContain(t);
    expect(copied.size).toBe(USER_TABLES.length);
  });

  it("copies every row, flips the directory, verifies and empties the source", async () => {
    const { uid, ids } = await library();
    const [from, to] = [shardDatabase(env, 0), shardDatabase(env, 1)];
    const before = await rowsOf(from, uid);
    const statsBefore = await statusCounts(env, uid);
    const events = [await opsCounted(from), await opsCounted(to)];
    const result = await moveUser(makeEnv().env, uid, 1);
    expect(result).toMatchObject({ source: 0, target: 1, outcome: "moved" });
    expect(await rowsOf(to, uid)).toEqual(before);
    expect(Object.values(await rowsOf(from, uid))).toEqual(USER_TABLES.map(() => 0));
    expect((await storeFor(env, uid)).shard).toBe(1);
    expect(await statusCounts(env, uid)).toEqual(statsBefore);
    // The copy's history was counted where it happened, not a second time on the target.
    expect([await opsCounted(from), await opsCounted(to)]).toEqual(events);
    expect((await searchText(to, uid, "lighthouse", 10)).map((h) => h.assetId)).toEqual([ids[0]]);
    // The claim made on the old shard can never complete: the next delivery takes it over.
    const claimed = await to
      .prepare("SELECT claimed_at, claim_token FROM assets WHERE id = ?")
      .bind(ids[1])
      .first();
    expect(claimed).toEqual({ claimed_at: null, claim_token: "tok" });
    // The old shard keeps a fence: a writer that found the user there before cannot land.
    await expect(
      from
        .prepare("INSERT INTO batches (id, user_id, created_at) VALUES (?, ?, 0)")
        .bind(crypto.randomUUID(), uid)
        .run(),
    ).rejects.toSatisfy(isUserMoving);
  });

  it("does nothing when the user is already on the target", async () => {
    const { uid } = await library();
    await moveUser(makeEnv().env, uid, 1);
    const again = await moveUser(makeEnv().env, uid, 1);
    expect(again.outcome).toBe("already-there");
    expect((await rowsOf(shardDatabase(env, 1), uid)).assets).toBe(3);
  });

  it("holds the user's writes while copying: storeFor refuses and the fence refuses a stale writer", async () => {
    const { uid, ids } = await library();
    const seen: string[] = [];
    await moveUser(makeEnv().env, uid, 1, {
      afterStep: async (step) => {
        if (step !== "held") return;
        await expect(storeFor(env, uid)).rejects.toSatisfy(isUserMoving);
        const stale = shardDatabase(env, 0);
        for (const sql of [
          "UPDATE assets SET status = 'ready' WHERE id = ?",
          "DELETE FROM batch_items WHERE asset_id = ?",
        ]) {
          const err = await stale
            .prepare(sql)
            .bind(ids[1])
            .run()
            .then(
              () => null,
              (e: unknown) => e,
            );
          seen.push(isUserMoving(err) ? "refused" : "written");
        }
      },
    });
    expect(seen).toEqual(["refused", "refused"]);
    expect(await statusCounts(env, uid)).toMatchObject({ processing: 1, ready: 1, failed: 1 });
  });

  it("undoes a copy that fails halfway: the source intact, the user free, the target empty", async () => {
    const { uid, ids } = await library();
    const [from, to] = [shardDatabase(env, 0), shardDatabase(env, 1)];
    const before = await rowsOf(from, uid);
    const failing = moveUser(makeEnv().env, uid, 1, {
      afterStep: (step) => {
        if (step === "copied:assets") throw new Error("D1 went away");
      },
    });
    await expect(failing).rejects.toBeInstanceOf(MoveError);
    await expect(failing).rejects.toMatchObject({ code: "move_failed", aborted: true });
    expect(await rowsOf(from, uid)).toEqual(before);
    expect(Object.values(await rowsOf(to, uid))).toEqual(USER_TABLES.map(() => 0));
    expect((await storeFor(env, uid)).shard).toBe(0);
    await from.prepare("UPDATE assets SET name = 'renamed.jpg' WHERE id = ?").bind(ids[0]).run();
    expect(await statusCounts(env, uid)).toMatchObject({ total: 3, ready: 1 });
    // And the same move, run again, goes through.
    expect((await moveUser(makeEnv().env, uid, 1)).outcome).toBe("moved");
  });

  it("resumes a move left copying (its abort failed too) when run again", async () => {
    const { uid } = await library();
    const e = makeEnv().env;
    // As a crashed run leaves it: the move recorded, the source fenced, half a copy.
    await moveUser(e, uid, 1, {
      afterStep: async (step) => {
        if (step !== "copied:batches") return;
        await env.DIRECTORY.prepare(
          "INSERT INTO user_moves (user_id, source, target, state, started_at, updated_at) VALUES (?, 0, 1, 'copying', 0, 0) ON CONFLICT DO NOTHING",
        )
          .bind(uid)
          .run();
        throw new Error("crash");
      },
    }).catch(() => undefined);
    // The abort ran; put the crash's state back by hand and resume.
    await env.DIRECTORY.prepare(
      "INSERT INTO user_moves (user_id, source, target, state, started_at, updated_at) VALUES (?, 0, 1, 'copying', 0, 0)",
    )
      .bind(uid)
      .run();
    await expect(storeFor(env, uid)).rejects.toSatisfy(isUserMoving);
    await expect(moveUser(e, uid, 0)).rejects.toMatchObject({ code: "move_in_progress" });
    const done = await moveUser(e, uid, 1);
    expect(done.outcome).toBe("moved");
    expect((await rowsOf(shardDatabase(env, 1), uid)).assets).toBe(3);
    await abortMove(e, uid); // nothing left to abort: a no-op
  });

  it("moves production's Vectorize vectors by id and removes them from the old shard's index", async () => {
    const { uid, ids } = await library();
    const old = VectorizeTestDouble.asDeployed(128, { immediate: true });
    const next = VectorizeTestDouble.asDeployed(128, { immediate: true });
    await old.upsert([{ id: ids[0] ?? "", values: Array.from(DESCRIPTOR), metadata: { uid } }]);
    const e = makeEnv({ VECTORS_DESCRIPTOR_0: old, VECTORS_DESCRIPTOR_1: next }).env;
    const result = await moveUser(e, uid, 1);
    expect(result.vectors.copied).toBe(1);
    expect(await next.getByIds(ids)).toHaveLength(1);
    expect(await old.getByIds(ids)).toHaveLength(0);
    const [match] = (await next.query(Array.from(DESCRIPTOR), { topK: 1, filter: { uid } }))
      .matches;
    expect(match?.id).toBe(ids[0]);
  });

  it("rebuilds a descriptor vector the old index does not return yet from D1's features", async () => {
    const { uid, ids } = await library();
    // Upserted seconds before the hold and not applied yet (Vectorize mutations are async).
    const old = VectorizeTestDouble.asDeployed(128);
    await old.upsert([{ id: ids[0] ?? "", values: Array.from(DESCRIPTOR), metadata: { uid } }]);
    const next = VectorizeTestDouble.asDeployed(128, { immediate: true });
    const e = makeEnv({ VECTORS_DESCRIPTOR_0: old, VECTORS_DESCRIPTOR_1: next }).env;
    expect((await moveUser(e, uid, 1)).vectors.copied).toBe(1);
    expect((await next.getByIds(ids)).map((v) => v.id)).toEqual([ids[0]]);
  });

  it("lets a stage that claimed on the old shard retry on the new one, never taking the move for a delete", async () => {
    const { uid, ids } = await library();
    const e = makeEnv().env;
    const spec = stageSpec("embedding", lifecycleTimings(e));
    const lc = await lifecycleFor(e, uid);
    await lc.store.d1
      .prepare("UPDATE assets SET status = 'processed' WHERE id = ?")
      .bind(ids[0])
      .run();
    const claim = await claimStage(lc, spec, {
      id: ids[0] ?? "",
      status: "processed",
      claimedAt: null,
      claimToken: null,
    });
    if (!claim || !("token" in claim)) throw new Error("no claim");
    const held: Claim = claim;
    // The move runs while the stage works; its completion then misses the old shard's row.
    await moveUser(e, uid, 1);
    let cleaned = false;
    const done = runClaimed(held, async () => ({
      set: {},
      cleanup: async () => {
        cleaned = true;
      },
    }));
    await expect(done).rejects.toSatisfy(isUserMoving);
    expect(cleaned).toBe(false);
    // On the new shard the claim has no claim time: the retry takes it over at once.
    const again = await claimStage(await lifecycleFor(e, uid), spec, {
      id: ids[0] ?? "",
      status: "embedding",
      claimedAt: null,
      claimToken: held.token,
    });
    expect(again && "token" in again).toBe(true);
  });

  it("moves a library larger than every page (copy and delete 500, compare 1,000 rows) whole", async () => {
    const uid = uidOnShard(0);
    const db = await placeTestUser(uid);
    const batchId = crypto.randomUUID();
    await db
      .prepare("INSERT INTO batches (id, user_id, created_at) VALUES (?, ?, 1)")
      .bind(batchId, uid)
      .run();
    const n = 1050;
    for (let i = 0; i < n; i += 50) {
      const part = Array.from({ length: 50 }, () => crypto.randomUUID());
      await db.batch(
        part.flatMap((id) => [
          db
            .prepare(
              `INSERT INTO assets (id, user_id, batch_id, name, size, type, sha256, status, created_at, updated_at)
               VALUES (?, ?, ?, 'p.jpg', 1, 'image/jpeg', ?, 'ready', 1, 1)`,
            )
            .bind(id, uid, batchId, id.replaceAll("-", "").padEnd(64, "0")),
          db
            .prepare(
              "INSERT INTO batch_items (batch_id, asset_id, user_id, created_at) VALUES (?, ?, ?, 1)",
            )
            .bind(batchId, id, uid),
        ]),
      );
    }
    const result = await moveUser(makeEnv().env, uid, 1);
    expect(result.rows).toBe(1 + 2 * n);
    expect(await rowsOf(shardDatabase(env, 1), uid)).toMatchObject({ assets: n, batch_items: n });
    expect((await rowsOf(shardDatabase(env, 0), uid)).assets).toBe(0);
    expect(await statusCounts(env, uid)).toMatchObject({ total: n, ready: n });
  });
});
