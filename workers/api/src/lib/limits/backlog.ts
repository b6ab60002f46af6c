import type { Db } from "@darkroom/shared";
import { assets, batches } from "@darkroom/shared/db";
import { and, asc, count, eq, gte, min, notExists, sql } from "drizzle-orm";
import { Conflict } from "../../errors";
import type { Limits } from "./limits";

/**
 * What a user has left lying around, capped per user so that no one user's leftovers
 * outgrow what the sweeper clears (issue 20): assets registered whose bytes never came
 * (`pending`), and batches that own no asset (a POST of files already uploaded, without
 * a batchId, makes one each time). Both are counted without scanning the library: each
 * count reads at most its cap of rows, through an index (`assets_user_status`,
 * `batches_user_created`), so a refusal costs the same for a user of 10 photos or 1 million.
 */
export type Backlog = {
  /** The user's `pending` assets, counted up to `maxPending`. */
  pending: number;
  /** Batches the user created within the empty-batch TTL that own no asset, up to `maxEmptyBatches`. */
  emptyBatches: number;
  /** When the oldest of those was created (ms), or null when there are none. */
  oldestEmptyAt: number | null;
};

/**
 * The two counts as statements for the caller's D1 batch (`POST /api/uploads` runs them in
 * the round trip that looks up its hashes, before anything is written).
 */
export function backlogQueries(d: Db, uid: string, lim: Limits, now: number) {
  const pendingRows = d
    .select({ one: sql`1`.as("one") })
    .from(assets)
    .where(and(eq(assets.userId, uid), eq(assets.status, "pending")))
    .limit(lim.maxPending)
    .as("pending_rows");
  const emptyRows = d
    .select({ createdAt: batches.createdAt })
    .from(batches)
    .where(
      and(
        eq(batches.userId, uid),
        gte(batches.createdAt, now - lim.emptyBatchTtlSeconds * 1000),
        notExists(d.select({ one: sql`1` }).from(assets).where(eq(assets.batchId, batches.id))),
      ),
    )
    .orderBy(asc(batches.createdAt))
    .limit(lim.maxEmptyBatches)
    .as("empty_rows");
  return [
    d.select({ n: count() }).from(pendingRows),
    d.select({ n: count(), oldest: min(emptyRows.createdAt) }).from(emptyRows),
  ] as const;
}

export function backlogOf(
  pending: { n: number }[],
  empty: { n: number; oldest: number | null }[],
): Backlog {
  return {
    pending: pending[0]?.n ?? 0,
    emptyBatches: empty[0]?.n ?? 0,
    oldestEmptyAt: empty[0]?.oldest ?? null,
  };
}

/**
 * The refusal of a registration that would take the user past a cap, or null. All or
 * nothing, like a token bucket: a request of 100 new files at 4,950 pending is refused
 * whole. Two concurrent requests may both pass at 4,950 (neither sees the other's rows):
 * the cap can be passed by at most one request's files per concurrent request.
 *
 * 409, not 429: waiting alone does not help (the rows go when their bytes are sent or they
 * expire), and a 429 makes the page pause every upload, which are exactly what frees them.
 */
export function backlogRefusal(
  b: Backlog,
  plan: { newFiles: number; newBatch: boolean },
  lim: Limits,
  now: number,
): Conflict | null {
  if (plan.newFiles > 0 && b.pending + plan.newFiles > lim.maxPending) {
    return new Conflict(
      "pending_limit_reached",
      `You have ${b.pending} photos registered whose bytes were never sent, and at most ${lim.maxPending} may wait; this request adds ${plan.newFiles}. Finish those uploads, or delete them (DELETE /api/assets/:id; unsent ones also expire on their own), then send these again.`,
      { pending: b.pending, maxPending: lim.maxPending, requested: plan.newFiles },
    );
  }
  // A request with a new file makes a batch that owns it: only one without is "empty".
  if (plan.newBatch && plan.newFiles === 0 && b.emptyBatches >= lim.maxEmptyBatches) {
    const freeAt = (b.oldestEmptyAt ?? now) + lim.emptyBatchTtlSeconds * 1000;
    const retryAfterSeconds = Math.max(1, Math.ceil((freeAt - now) / 1000));
    return new Conflict(
      "empty_batch_limit_reached",
      `You made ${b.emptyBatches} batches of files that were all uploaded already in the last ${Math.round(lim.emptyBatchTtlSeconds / 60)} minutes, the most there may be. Add these to one of them (send its batchId), or try again in ${retryAfterSeconds} s.`,
      {
        emptyBatches: b.emptyBatches,
        maxEmptyBatches: lim.maxEmptyBatches,
        retryAfterSeconds,
      },
    );
  }
  return null;
}
