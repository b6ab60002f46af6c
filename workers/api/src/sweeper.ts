import {
  type AssetStatus,
  type CrossUserStore,
  claimExpired,
  crossUserStores,
  deletedEvent,
  type EmbedMessage,
  lifecycleFor,
  lifecycleTimings,
  opsWindows,
  originalKey,
  publishSafely,
  type StageSpec,
  stageSpec,
  writeAsset,
} from "@darkroom/shared";
import { assets, batchItems, requestTimings, sweepRuns } from "@darkroom/shared/db";
import { and, asc, eq, inArray, isNull, lt, notExists, or, type SQL, sql } from "drizzle-orm";
import { config } from "./lib/config";
import { db } from "./lib/db";
import { notificationFor, purgeAsset } from "./lib/lifecycle";
import { pruneRollups, recountUserCounters } from "./ops/counters";
import { sweepEmptyBatches } from "./sweep-empty-batches";
import { redescribeSkipped } from "./sweep-redescribe";

const BATCH = 100;

export type SweepReport = {
  renotified: number;
  expired: number;
  purged: number;
  /** Embed messages re-sent for `processed` and `embedding` assets. */
  reembedded: number;
  /** Uploads messages re-sent for `uploaded` and `processing` assets. */
  reprocessed: number;
  /** Re-describe messages sent for `ready` assets that skipped AI (sweep-redescribe.ts). */
  redescribed: number;
  /** Batches that owned no asset, deleted with their items (sweep-empty-batches.ts). */
  emptyBatches: number;
  /** Users whose status counters the recount found drifted and rewrote (ops/counters.ts). */
  countersCorrected: number;
};

/**
 * One rule per intermediate state (DESIGN.md). Runs from the cron trigger in
 * production and on a timer from `npm run dev` (local wrangler dev fires no crons).
 * Its timeouts are the deployment's (`lifecycleTimings`): the same vars the processor
 * and the embedder read for their leases. It scans across users (`crossUserStores`) and
 * writes each row through its owner's lifecycle, like every other writer.
 */
export async function sweep(env: Env, now = Date.now()): Promise<SweepReport> {
  const timings = lifecycleTimings(env);
  const report: SweepReport = {
    renotified: 0,
    expired: 0,
    purged: 0,
    reembedded: 0,
    reprocessed: 0,
    redescribed: 0,
    emptyBatches: 0,
    countersCorrected: 0,
  };
  for (const store of crossUserStores(env)) {
    // Each database keeps its own counters and rollups: recount a few users, prune.
    const recount = await recountUserCounters(store.d1);
    report.countersCorrected += recount.corrected;
    await pruneRollups(store.d1, now);
    const pending = await sweepPending(env, store, now);
    report.renotified += pending.renotified;
    report.expired += pending.expired;
    const stuck = await store.db
      .select()
      .from(assets)
      .where(
        and(eq(assets.status, "deleting"), lt(assets.updatedAt, now - timings.deletingStaleMs)),
      )
      .limit(BATCH);
    for (const row of stuck) {
      await purgeAsset(env, row.userId, row.id, row.batchId, row.version);
      report.purged += 1;
    }
    const processing = stale(stageSpec("processing", timings), timings.uploadedIdleMs, now);
    report.reprocessed += await resendStale(env, store, now, processing, async (row) => {
      const note = await notificationFor(env, row.userId, row.id);
      return note ? { queue: env.UPLOADS_QUEUE, body: note } : null;
    });
    const embedding = stale(stageSpec("embedding", timings), timings.processedIdleMs, now);
    report.reembedded += await resendStale(env, store, now, embedding, async (row) => ({
      queue: env.EMBED_QUEUE,
      body: { assetId: row.id, uid: row.userId } satisfies EmbedMessage,
    }));
  }
  report.redescribed = await redescribeSkipped(env, now);
  report.emptyBatches = await sweepEmptyBatches(env, now);
  await recordRun(env, now, report);
  return report;
}

/**
 * pending: the object may be in R2 with its notification lost (a restart of local
 * queues, a failed send): re-send it. Without an object, past expiry + grace: delete.
 * A client may resume the row at any moment (POST /api/uploads bumps its `version`), so
 * every write here is conditional on the version read: a resume between the read, the
 * R2 check and the deletes makes them change nothing.
 */
async function sweepPending(env: Env, store: CrossUserStore, now: number) {
  const cfg = config(env);
  const out = { renotified: 0, expired: 0 };
  const idle = and(
    eq(assets.status, "pending"),
    lt(assets.updatedAt, now - cfg.PENDING_IDLE_SECONDS * 1000),
    redriveDue(cfg.PENDING_IDLE_SECONDS * 1000, now),
  );
  const pending = await store.db
    .select()
    .from(assets)
    .where(inArray(assets.id, fairTurns(store, idle)));
  for (const row of pending) {
    const unchanged = and(eq(assets.status, "pending"), eq(assets.version, row.version));
    const note = await notificationFor(env, row.userId, row.id);
    if (note) {
      // Touch the row so the next sweep gives the processor time before re-sending.
      const lc = lifecycleFor(env, row.userId);
      if (await writeAsset(lc, row.id, unchanged, resent(now), now)) {
        await env.UPLOADS_QUEUE.send(note);
        out.renotified += 1;
      }
      continue;
    }
    if ((row.expiresAt ?? row.createdAt) + cfg.PENDING_GRACE_SECONDS * 1000 >= now) continue;
    if (!(await expirePending(env, row))) continue;
    // An upload that raced the delete would leave an orphan: remove it too.
    await env.BUCKET.delete(originalKey(row.userId, row.id));
    out.expired += 1;
  }
  return out;
}

/**
 * Deletes an expired `pending` row, then its batch membership: each ONE conditional
 * statement. The row only at the version read; the membership only once no such row
 * exists, so a resume that got in first keeps both, and one that comes after finds no
 * row (and answers the client with a conflict to retry, not a URL for a deleted asset).
 */
export async function expirePending(
  env: Env,
  row: { id: string; userId: string; batchId: string; version: number },
): Promise<boolean> {
  const { store: user, hub } = lifecycleFor(env, row.userId);
  const deleted = await user.db
    .delete(assets)
    .where(
      and(
        eq(assets.id, row.id),
        eq(assets.userId, row.userId),
        eq(assets.status, "pending"),
        eq(assets.version, row.version),
      ),
    )
    .returning({ id: assets.id });
  await user.db
    .delete(batchItems)
    .where(
      and(
        eq(batchItems.assetId, row.id),
        eq(batchItems.userId, row.userId),
        notExists(user.db.select({ id: assets.id }).from(assets).where(eq(assets.id, row.id))),
      ),
    );
  if (deleted.length === 0) return false;
  await publishSafely(hub, [deletedEvent(row)]);
  return true;
}

/**
 * The row's part of a re-send: `updated_at` restarts the idle clock (the next sweep waits
 * a full period), and the ops metrics show, per stuck asset, how often the sweeper re-sent
 * it and when it last did.
 */
function resent(now: number) {
  return { updatedAt: now, sweeps: sql`${assets.sweeps} + 1`, sweptAt: now };
}

/**
 * The ids of up to BATCH rows matching `where`, fair across users (issue 20, point 5):
 * round robin over users (every user's oldest row, then every user's second, …), each
 * user's rows oldest first. One user with ten thousand stale rows takes one turn per
 * round like everyone else, so another user's one lost message is re-sent in the next
 * sweep instead of waiting behind them. The window runs over the matching rows only (the
 * `(status, updated_at)` index finds them).
 */
function fairTurns(store: CrossUserStore, where: SQL | undefined) {
  const ranked = store.db
    .select({
      id: assets.id,
      at: assets.updatedAt,
      turn: sql<number>`row_number() OVER (PARTITION BY ${assets.userId} ORDER BY ${assets.updatedAt}, ${assets.id})`.as(
        "turn",
      ),
    })
    .from(assets)
    .where(where)
    .as("ranked");
  return store.db
    .select({ id: ranked.id })
    .from(ranked)
    .orderBy(asc(ranked.turn), asc(ranked.at))
    .limit(BATCH);
}

/** Sweep runs kept for the ops metrics: a day of runs every 2 minutes, with room. */
export const SWEEP_RUNS_KEPT = 1000;

/**
 * Keeps what this run did for the ops metrics, in the same round trip as the pruning
 * that bounds the ops tables: the newest SWEEP_RUNS_KEPT runs, and request timings no
 * older than the longest metrics window.
 */
async function recordRun(env: Env, startedAt: number, report: SweepReport): Promise<void> {
  const d = db(env);
  const oldestWindow = Math.max(...Object.values(opsWindows));
  await d.batch([
    d
      .insert(sweepRuns)
      .values({ startedAt, durationMs: Math.max(0, Date.now() - startedAt), ...report })
      .onConflictDoNothing(),
    d
      .delete(sweepRuns)
      .where(
        lt(
          sweepRuns.startedAt,
          sql`(SELECT ${sweepRuns.startedAt} FROM ${sweepRuns} ORDER BY ${sweepRuns.startedAt} DESC LIMIT 1 OFFSET ${SWEEP_RUNS_KEPT - 1})`,
        ),
      ),
    d.delete(requestTimings).where(lt(requestTimings.at, startedAt - oldestWindow)),
  ]);
}

type StaleRow = { id: string; userId: string; status: AssetStatus; version: number };

/**
 * Re-sends one stage's message for rows matching `where`, at most once per period:
 * `updated_at` is touched first, conditionally on the row's version, so two sweeps
 * racing each other send one message, and the next sweep waits a full period again.
 * `message` returns what to send (null: nothing can be sent, leave the row alone).
 */
async function resendStale(
  env: Env,
  store: CrossUserStore,
  now: number,
  where: SQL | undefined,
  message: (row: StaleRow) => Promise<{ queue: Queue; body: unknown } | null>,
): Promise<number> {
  const rows = await store.db
    .select({
      id: assets.id,
      userId: assets.userId,
      status: assets.status,
      version: assets.version,
    })
    .from(assets)
    .where(inArray(assets.id, fairTurns(store, where)));
  let sent = 0;
  for (const row of rows) {
    const out = await message(row);
    if (!out) continue;
    // The version read, not a timestamp: every write bumps it, so no two states share one.
    const unchanged = and(eq(assets.status, row.status), eq(assets.version, row.version));
    const lc = lifecycleFor(env, row.userId);
    if (!(await writeAsset(lc, row.id, unchanged, resent(now), now))) continue;
    await out.queue.send(out.body);
    sent += 1;
  }
  return sent;
}

/**
 * No re-driven message is on its way: none was (`retry_at` null), or the one a
 * dead-letter handler sent after a backoff (`deadLettered`) was due more than `idleMs`
 * ago and so was lost too. Until then the row is left to that message: re-sending it
 * would cut the backoff short and double the messages of an outage.
 */
function redriveDue(idleMs: number, now: number): SQL {
  return or(isNull(assets.retryAt), lt(assets.retryAt, now - idleMs)) ?? sql`1`;
}

/**
 * A stage's from-status idle past `idleMs` lost its message (`uploaded`: the `uploads`
 * message; `processed`: the embed message); its claimed status whose claim is older
 * than the stage's lease lost its consumer. The message is re-sent: the stage claims
 * the asset or takes over the dead claim.
 */
function stale(spec: StageSpec, idleMs: number, now: number): SQL | undefined {
  return or(
    and(eq(assets.status, spec.from), lt(assets.updatedAt, now - idleMs), redriveDue(idleMs, now)),
    and(
      eq(assets.status, spec.claimed),
      lt(assets.updatedAt, now - spec.leaseMs),
      claimExpired(spec.leaseMs, now),
    ),
  );
}
