import {
  type CrossUserStore,
  crossUserStores,
  deletedEvent,
  directoryOf,
  fairTurns,
  lifecycleOn,
  lifecycleTimings,
  opsWindows,
  originalKey,
  PIPELINE,
  type PipelineTimings,
  publishSafely,
  resendStale,
  type StageName,
  unfenced,
} from "@darkroom/shared";
import { assets, batchItems, requestTimings, sweepRuns } from "@darkroom/shared/db";
import { and, eq, inArray, lt, notExists, sql } from "drizzle-orm";
import { config } from "./lib/config/config";
import { purgeAsset } from "./lib/purge-asset";
import { pruneRollups, recountUserCounters } from "./ops/counters";
import { sweepEmptyBatches } from "./sweep-empty-batches";
import { redescribeSkipped } from "./sweep-redescribe";

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

/** What each stage's rule counts as, in the sweep's report (and its `sweep_runs` row). */
const COUNTED_AS = {
  upload: "renotified",
  processing: "reprocessed",
  embedding: "reembedded",
} as const satisfies Record<StageName, keyof SweepReport>;

/**
 * One rule per intermediate state (DESIGN.md): for every stage of the pipeline table, its
 * re-send of lost messages (`sweepStages`); the expiry of uploads that never came; the
 * end of interrupted deletes; the re-describe touch; empty batches. Runs from the cron
 * trigger in production and on a timer from `npm run dev` (local wrangler dev fires no
 * crons). Its timeouts are the deployment's (`lifecycleTimings`): the same vars the
 * processor and the embedder read for their leases. It scans across users
 * (`crossUserStores`) and writes each row through its owner's lifecycle.
 */
export async function sweep(env: Env, now = Date.now()): Promise<SweepReport> {
  const timings = pipelineTimings(env);
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
    const sent = await sweepStages(env, store, timings, now);
    for (const stage of PIPELINE) report[COUNTED_AS[stage.name]] += sent[stage.name];
    report.expired += await expireAbandoned(env, store, timings, now);
    report.purged += await finishDeletes(env, store, timings, now);
  }
  report.redescribed = await redescribeSkipped(env, now);
  report.emptyBatches = await sweepEmptyBatches(env, now);
  await recordRun(env, now, report);
  return report;
}

/** Every wait of the pipeline table, as this deployment sets them. */
function pipelineTimings(env: Env): PipelineTimings {
  return { ...lifecycleTimings(env), pendingIdleMs: config(env).PENDING_IDLE_SECONDS * 1000 };
}

/**
 * The pipeline's sweeper rules over one database: each stage of the table re-sends the
 * messages its assets lost (`resendStale`). Returns the messages sent per stage.
 */
export async function sweepStages(
  env: Env,
  store: CrossUserStore,
  timings: PipelineTimings,
  now: number,
): Promise<Record<StageName, number>> {
  const sent = { upload: 0, processing: 0, embedding: 0 } satisfies Record<StageName, number>;
  for (const stage of PIPELINE) {
    sent[stage.name] += await resendStale(env, store, stage, timings, now);
  }
  return sent;
}

/**
 * `pending` without an object past expiry + grace: the upload never came (one with an
 * object is the upload stage's: its notification is re-sent). A client may resume the
 * row at any moment (POST /api/uploads bumps its `version`), so the delete is conditional
 * on the version read: a resume between the read, the R2 check and the delete makes it
 * change nothing.
 */
async function expireAbandoned(
  env: Env,
  store: CrossUserStore,
  timings: PipelineTimings,
  now: number,
): Promise<number> {
  const graceMs = config(env).PENDING_GRACE_SECONDS * 1000;
  const abandoned = and(
    eq(assets.status, "pending"),
    lt(assets.updatedAt, now - timings.pendingIdleMs),
    lt(sql`coalesce(${assets.expiresAt}, ${assets.createdAt})`, now - graceMs),
  );
  const rows = await store.db
    .select()
    .from(assets)
    .where(inArray(assets.id, fairTurns(store, abandoned)));
  let expired = 0;
  for (const row of rows) {
    if (await env.BUCKET.head(originalKey(row.userId, row.id))) continue;
    if (!(await expirePending(env, store, row))) continue;
    // An upload that raced the delete would leave an orphan: remove it too.
    await env.BUCKET.delete(originalKey(row.userId, row.id));
    expired += 1;
  }
  return expired;
}

/** `deleting` for longer than a delete takes: it was interrupted, so it is finished here. */
async function finishDeletes(
  env: Env,
  store: CrossUserStore,
  timings: PipelineTimings,
  now: number,
): Promise<number> {
  const stuck = await store.db
    .select()
    .from(assets)
    .where(
      and(
        eq(assets.status, "deleting"),
        lt(assets.updatedAt, now - timings.deletingStaleMs),
        unfenced(assets.userId),
      ),
    )
    .limit(100);
  for (const row of stuck) {
    await purgeAsset(env, store.forUser(row.userId), row.id, row.batchId, row.version);
  }
  return stuck.length;
}

/**
 * Deletes an expired `pending` row, then its batch membership: each ONE conditional
 * statement. The row only at the version read; the membership only once no such row
 * exists, so a resume that got in first keeps both, and one that comes after finds no
 * row (and answers the client with a conflict to retry, not a URL for a deleted asset).
 */
export async function expirePending(
  env: Env,
  shard: CrossUserStore,
  row: { id: string; userId: string; batchId: string; version: number },
): Promise<boolean> {
  const { store: user, hub } = lifecycleOn(env, shard.forUser(row.userId));
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

/** Sweep runs kept for the ops metrics: a day of runs every 2 minutes, with room. */
export const SWEEP_RUNS_KEPT = 1000;

/**
 * Keeps what this run did for the ops metrics, in the same round trip as the pruning
 * that bounds the ops tables: the newest SWEEP_RUNS_KEPT runs, and request timings no
 * older than the longest metrics window.
 */
async function recordRun(env: Env, startedAt: number, report: SweepReport): Promise<void> {
  // Operator-wide: the directory keeps the runs and the request timings (DESIGN.md, "Sharding").
  const d = directoryOf(env).db;
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
