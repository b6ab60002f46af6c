import { crossUserStores, type Db, unfenced } from "@darkroom/shared";
import { assets, batches, batchItems } from "@darkroom/shared/db";
import { and, asc, eq, gte, inArray, lt, notExists, type SQL, sql } from "drizzle-orm";
import { chunks } from "./lib/bindings/db";
import { limits } from "./lib/limits/limits";

/** Batches picked per round, and rounds per sweep: up to 1,000 batches a run (every 2 min). */
export const EMPTY_BATCH_ROUNDS = { perRound: 100, rounds: 10 };

/**
 * A batch owns the assets first uploaded in it (`assets.batch_id`). One that owns none
 * (only duplicates were dropped into it, or its assets were all deleted or expired) and
 * had no file added for `EMPTY_BATCH_TTL_SECONDS` is deleted with its `batch_items`:
 * otherwise re-posting files already uploaded would add a batch and a row per file each
 * time, forever. Its duplicates keep their own batch; nothing else refers to it.
 *
 * Both deletes repeat the whole condition and run in one D1 batch (a transaction), so a
 * file added to the batch after it was picked keeps it. Returns how many were deleted.
 *
 * Users take turns (each user's oldest first, then everyone's second…), as in the
 * sweeper's other rules: one user's flood of empty batches cannot hold back another's.
 */
export async function sweepEmptyBatches(
  env: Env,
  now = Date.now(),
  rounds = EMPTY_BATCH_ROUNDS,
): Promise<number> {
  const idleSince = now - limits(env).emptyBatchTtlSeconds * 1000;
  let deleted = 0;
  // A batch lives in its owner's shard, with the assets it could own: one shard at a time.
  for (const store of crossUserStores(env))
    deleted += await sweepShard(store.db, idleSince, rounds);
  return deleted;
}

async function sweepShard(
  d: Db,
  idleSince: number,
  { perRound, rounds }: typeof EMPTY_BATCH_ROUNDS,
): Promise<number> {
  const ownsNothing: SQL | undefined = and(
    lt(batches.createdAt, idleSince),
    // A user being moved keeps their batches until the move is done (lifecycle/move-user.ts).
    unfenced(batches.userId),
    notExists(d.select({ one: sql`1` }).from(assets).where(eq(assets.batchId, batches.id))),
    notExists(
      d
        .select({ one: sql`1` })
        .from(batchItems)
        .where(and(eq(batchItems.batchId, batches.id), gte(batchItems.createdAt, idleSince))),
    ),
  );
  let deleted = 0;
  for (let round = 0; round < rounds; round++) {
    const ranked = d
      .select({
        id: batches.id,
        at: batches.createdAt,
        turn: sql<number>`row_number() OVER (PARTITION BY ${batches.userId} ORDER BY ${batches.createdAt}, ${batches.id})`.as(
          "turn",
        ),
      })
      .from(batches)
      .where(ownsNothing)
      .as("ranked");
    const picked = await d
      .select({ id: ranked.id })
      .from(ranked)
      .orderBy(asc(ranked.turn), asc(ranked.at))
      .limit(perRound);
    // 40 ids a statement: with the condition's own parameters, far below D1's 100.
    for (const part of chunks(
      picked.map((b) => b.id),
      40,
    )) {
      const still = d
        .select({ id: batches.id })
        .from(batches)
        .where(and(inArray(batches.id, part), ownsNothing));
      const [, gone] = await d.batch([
        d.delete(batchItems).where(inArray(batchItems.batchId, still)),
        d
          .delete(batches)
          .where(and(inArray(batches.id, part), ownsNothing))
          .returning({ id: batches.id }),
      ]);
      deleted += gone.length;
    }
    if (picked.length < perRound) break;
  }
  return deleted;
}
