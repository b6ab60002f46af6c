import {
  assetStatusSchema,
  type LatencySeries,
  latencySeries,
  type OpsAssetRef,
  parseAssetError,
  type SweepRun,
  type ThroughputStage,
  type WaitingStage,
  waitingStages,
} from "@darkroom/shared";
import { z } from "zod";
import type { Histogram } from "./histogram";

/**
 * What one database (one shard) contributes to the ops metrics, read in one round trip
 * (`DB.batch`), in a form that merges across shards (metrics.ts): counts that add,
 * histograms that add, and the few oldest/newest items of each list.
 *
 * Rows read are bounded by the window's minutes, not by the assets in it: throughput,
 * failures in the window, retries and latencies come from the per-minute rollups the
 * triggers of migrations/0007 keep; failure totals from `ops_failed_now`. Only the waiting
 * stages read asset rows, through the `(status, status_at)` index: the work in flight.
 */

/** Minutes, the rollups' key: time t falls in key K when (K - 1)·60 s < t ≤ K·60 s. */
export const ROLLUP_MS = 60_000;
export function rollupKey(t: number): number {
  return Math.ceil(t / ROLLUP_MS);
}

/** Stuck and dead-lettered items listed (the oldest stuck, the newest dead letters). */
export const OPS_ITEMS_LISTED = 20;

const REF_COLUMNS =
  "id, user_id, batch_id, name, status, status_at, attempts, retries, sweeps, swept_at, error";

const num = z.number();
const nullableNum = z.number().nullable();
const stageRow = z.object({ n: num, oldest: nullableNum, stuck: num });
const refRow = z.object({
  id: z.string(),
  user_id: z.string(),
  batch_id: z.string(),
  name: z.string(),
  status: assetStatusSchema,
  status_at: nullableNum,
  attempts: num,
  retries: num,
  sweeps: num,
  swept_at: nullableNum,
  error: z.string().nullable(),
});
const countRow = z.object({ series: z.string(), b: num, n: num });
const latencyRow = z.object({ series: z.string(), lo: num, n: num, sum_ms: num });
const groupRow = z.object({ stage: z.string(), code: z.string(), n: num });
const sweepRow = z.object({
  started_at: num,
  duration_ms: num,
  renotified: num,
  expired: num,
  purged: num,
  reprocessed: num,
  reembedded: num,
});
const sweepTotalsRow = z.object({
  runs: num,
  renotified: num,
  expired: num,
  purged: num,
  reprocessed: num,
  reembedded: num,
});

export type ShardStage = { count: number; oldestAt: number | null; stuck: number };
/** A listed asset with the time it entered its status, for ordering across shards. */
export type TimedRef = { at: number; ref: OpsAssetRef };
export type SweepTotals = Omit<SweepRun, "startedAt" | "durationMs"> & { runs: number };

export type ShardMetrics = {
  stages: Record<WaitingStage, ShardStage>;
  /** Events per throughput bucket index (0 = oldest) and stage. */
  throughput: Array<{ bucket: number; stage: ThroughputStage; n: number }>;
  latency: Record<LatencySeries, Histogram>;
  /** Failure groups ('' stage/code: the error said none): in the window, and failed now. */
  failures: Array<{ stage: string; code: string; inWindow: number; total: number }>;
  retried: number;
  stuckItems: TimedRef[];
  deadItems: TimedRef[];
  lastRun: SweepRun | null;
  sweeps: SweepTotals;
};

function rows<T>(schema: z.ZodType<T>, result: D1Result | undefined): T[] {
  return (result?.results ?? []).map((r) => schema.parse(r));
}

function timedRef(r: z.infer<typeof refRow>, now: number): TimedRef {
  return {
    at: r.status_at ?? now,
    ref: {
      id: r.id,
      userId: r.user_id,
      batchId: r.batch_id,
      name: r.name,
      status: r.status,
      ageMs: r.status_at === null ? 0 : Math.max(0, now - r.status_at),
      attempts: r.attempts,
      retries: r.retries,
      sweeps: r.sweeps,
      sweptAt: r.swept_at,
      error: parseAssetError(r.error),
    },
  };
}

const isThroughputStage = (s: string): s is ThroughputStage =>
  s === "uploaded" || s === "processed" || s === "ready" || s === "failed";
const isLatencySeries = (s: string): s is LatencySeries =>
  (latencySeries as readonly string[]).includes(s);

/** The window (since, until] of one database, its throughput in buckets of `bucketMs`. */
export async function readShardMetrics(
  db: D1Database,
  window: { since: number; until: number; bucketMs: number },
  timeouts: Record<WaitingStage, number>,
): Promise<ShardMetrics> {
  const { since, until: now, bucketMs } = window;
  const from = rollupKey(since);
  const to = rollupKey(now);
  const q = (sqlText: string, ...params: unknown[]) => db.prepare(sqlText).bind(...params);
  // The bucket of the series a minute key falls in: its last instant, K·60 s, read like
  // a timestamp (a window on whole minutes puts each key in exactly one bucket).
  const bucketOf = `CAST((minute * ${ROLLUP_MS} - ? - 1) / ? AS INTEGER)`;

  const results = await db.batch([
    ...waitingStages.map((stage) =>
      q(
        `SELECT COUNT(*) AS n, MIN(status_at) AS oldest, COALESCE(SUM(status_at < ?), 0) AS stuck
         FROM assets WHERE status = ?`,
        now - timeouts[stage],
        stage,
      ),
    ),
    q(
      `SELECT series, ${bucketOf} AS b, SUM(n) AS n FROM ops_counts
         WHERE minute > ? AND minute <= ? GROUP BY series, b
       UNION ALL
       SELECT 'failed' AS series, ${bucketOf} AS b, SUM(n) AS n FROM ops_failures
         WHERE minute > ? AND minute <= ? GROUP BY b`,
      since,
      bucketMs,
      from,
      to,
      since,
      bucketMs,
      from,
      to,
    ),
    q(
      `SELECT series, lo, SUM(n) AS n, SUM(sum_ms) AS sum_ms FROM ops_latency
       WHERE minute > ? AND minute <= ? GROUP BY series, lo`,
      from,
      to,
    ),
    q(
      `SELECT stage, code, SUM(n) AS n FROM ops_failures
       WHERE minute > ? AND minute <= ? GROUP BY stage, code`,
      from,
      to,
    ),
    q("SELECT stage, code, n FROM ops_failed_now WHERE n > 0"),
    q(
      `SELECT ${REF_COLUMNS} FROM assets WHERE ${waitingStages.map(() => "(status = ? AND status_at < ?)").join(" OR ")}
       ORDER BY status_at LIMIT ?`,
      ...waitingStages.flatMap((stage) => [stage, now - timeouts[stage]]),
      OPS_ITEMS_LISTED,
    ),
    q(
      `SELECT ${REF_COLUMNS} FROM assets
       WHERE status = 'failed' AND json_extract(error, '$.code') = 'retries_exhausted'
       ORDER BY status_at DESC LIMIT ?`,
      OPS_ITEMS_LISTED,
    ),
    q(
      `SELECT started_at, duration_ms, renotified, expired, purged, reprocessed, reembedded
       FROM sweep_runs ORDER BY started_at DESC LIMIT 1`,
    ),
    q(
      `SELECT COUNT(*) AS runs, COALESCE(SUM(renotified), 0) AS renotified,
         COALESCE(SUM(expired), 0) AS expired, COALESCE(SUM(purged), 0) AS purged,
         COALESCE(SUM(reprocessed), 0) AS reprocessed, COALESCE(SUM(reembedded), 0) AS reembedded
       FROM sweep_runs WHERE started_at > ? AND started_at <= ?`,
      since,
      now,
    ),
  ]);
  let at = 0;
  const next = () => results[at++];

  const stages = {} as Record<WaitingStage, ShardStage>;
  for (const stage of waitingStages) {
    const [r] = rows(stageRow, next());
    stages[stage] = { count: r?.n ?? 0, oldestAt: r?.oldest ?? null, stuck: r?.stuck ?? 0 };
  }

  const throughput: ShardMetrics["throughput"] = [];
  let retried = 0;
  for (const r of rows(countRow, next())) {
    if (r.series === "retried") retried += r.n;
    else if (isThroughputStage(r.series)) {
      throughput.push({ bucket: r.b, stage: r.series, n: r.n });
    }
  }

  const latency = {} as Record<LatencySeries, { counts: Map<number, number>; sumMs: number }>;
  for (const s of latencySeries) latency[s] = { counts: new Map(), sumMs: 0 };
  for (const r of rows(latencyRow, next())) {
    if (!isLatencySeries(r.series)) continue;
    const h = latency[r.series];
    h.counts.set(r.lo, (h.counts.get(r.lo) ?? 0) + r.n);
    h.sumMs += r.sum_ms;
  }

  const groups = new Map<string, ShardMetrics["failures"][number]>();
  const group = (stage: string, code: string) => {
    const key = JSON.stringify([stage, code]);
    const g = groups.get(key) ?? { stage, code, inWindow: 0, total: 0 };
    groups.set(key, g);
    return g;
  };
  for (const r of rows(groupRow, next())) group(r.stage, r.code).inWindow += r.n;
  for (const r of rows(groupRow, next())) group(r.stage, r.code).total += r.n;

  const stuckItems = rows(refRow, next()).map((r) => timedRef(r, now));
  const deadItems = rows(refRow, next()).map((r) => timedRef(r, now));
  const [last] = rows(sweepRow, next());
  const [sweeps] = rows(sweepTotalsRow, next());

  return {
    stages,
    throughput,
    latency,
    failures: [...groups.values()],
    retried,
    stuckItems,
    deadItems,
    lastRun: last
      ? {
          startedAt: last.started_at,
          durationMs: last.duration_ms,
          renotified: last.renotified,
          expired: last.expired,
          purged: last.purged,
          reprocessed: last.reprocessed,
          reembedded: last.reembedded,
        }
      : null,
    sweeps: sweeps ?? {
      runs: 0,
      renotified: 0,
      expired: 0,
      purged: 0,
      reprocessed: 0,
      reembedded: 0,
    },
  };
}
