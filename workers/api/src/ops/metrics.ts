import {
  assetStatusSchema,
  type FailureGroup,
  failureStageSchema,
  type LatencySeries,
  type LifecycleTimings,
  latencySeries,
  type OpsAssetRef,
  type OpsMetrics,
  type OpsWindow,
  opsWindows,
  type Percentiles,
  parseAssetError,
  type StageSnapshot,
  throughputStages,
  type WaitingStage,
  waitingStages,
} from "@darkroom/shared";
import { z } from "zod";

/**
 * The ops metrics (docs/operations.md, "Ops metrics") as SQL over D1, in one round trip
 * (`DB.batch`). Every query reads an index range: the intermediate statuses, or the rows
 * whose timestamp falls inside the window; only the failure groups read every failed row.
 *
 * Windows are (since, until]: `until` is now, `since` one window earlier.
 */

/** Percentiles reported, in percent. */
const PERCENTILES = [50, 95, 99] as const;

/**
 * Nearest-rank percentiles of the `d` column of `values`: with the n values sorted
 * ascending, the p-th percentile is the ceil(p·n/100)-th (1-based), always a value that
 * was measured. SQLite has no percentile function; ROW_NUMBER() ranks the values and
 * `(p·n + 99) / 100` is ceil(p·n/100) in integer arithmetic (p and n are integers).
 */
function percentileSql(values: string): string {
  const picks = PERCENTILES.map(
    (p) => `MAX(CASE WHEN rn = (${p} * n + 99) / 100 THEN d END) AS p${p}`,
  );
  return `WITH v AS (${values}),
    r AS (SELECT d, ROW_NUMBER() OVER (ORDER BY d) AS rn, COUNT(*) OVER () AS n FROM v)
    SELECT COUNT(*) AS count, COALESCE(SUM(d), 0) AS sum_ms, ${picks.join(", ")} FROM r`;
}

/** Each latency: the values it is computed from, bound to (since, until]. */
const LATENCY_VALUES: Record<LatencySeries, string> = {
  // The api's own time for POST /api/uploads that registered files (refusals excluded).
  upload_registration: `SELECT duration_ms AS d FROM request_timings
    WHERE route = 'upload_registration' AND at > ? AND at <= ? AND status < 400`,
  // Original in R2 → variants written, for assets whose processing finished in the window.
  uploaded_to_processed: `SELECT processed_at - uploaded_at AS d FROM assets
    WHERE processed_at > ? AND processed_at <= ? AND uploaded_at IS NOT NULL AND processed_at >= uploaded_at`,
  // Variants written → searchable, for assets that became ready in the window.
  processed_to_ready: `SELECT ready_at - processed_at AS d FROM assets
    WHERE ready_at > ? AND ready_at <= ? AND processed_at IS NOT NULL AND ready_at >= processed_at`,
};

/** The column each throughput stage is counted by. */
const THROUGHPUT_COLUMN = {
  uploaded: "uploaded_at",
  processed: "processed_at",
  ready: "ready_at",
  failed: "status_at",
} as const;

/** Buckets of the throughput series: a minute over the last hour, half an hour over a day. */
const BUCKET_MS: Record<OpsWindow, number> = { "1h": 60_000, "24h": 30 * 60_000 };

/** Stuck and dead-lettered items listed (the oldest stuck, the newest dead letters). */
export const OPS_ITEMS_LISTED = 20;

const REF_COLUMNS =
  "id, user_id, batch_id, name, status, status_at, attempts, retries, sweeps, swept_at, error";

const num = z.number();
const nullableNum = z.number().nullable();
const percentileRow = z.object({
  count: num,
  sum_ms: num,
  p50: nullableNum,
  p95: nullableNum,
  p99: nullableNum,
});
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
const throughputRow = z.object({ stage: z.enum(throughputStages), b: num, n: num });
const failureRow = z.object({
  stage: z.string().nullable(),
  code: z.string().nullable(),
  total: num,
  in_window: num,
});
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

/** How long an item may wait in each status before it counts as stuck. */
export type StageTimeouts = Record<WaitingStage, number>;

/**
 * The sweeper's timeout for each status: past it, the sweeper acts (DESIGN.md, "Asset
 * lifecycle"). `pending` waits for the person's upload, so it is stuck only once its
 * upload URL has expired and the grace has passed: then the sweeper should have deleted
 * it or re-sent its notification.
 */
export function stageTimeouts(
  t: LifecycleTimings,
  pending: { urlTtlSeconds: number; graceSeconds: number },
): StageTimeouts {
  return {
    pending: (pending.urlTtlSeconds + pending.graceSeconds) * 1000,
    uploaded: t.uploadedIdleMs,
    processing: t.processingLeaseMs,
    processed: t.processedIdleMs,
    embedding: t.embedLeaseMs,
  };
}

function rows<T>(schema: z.ZodType<T>, result: D1Result | undefined): T[] {
  return (result?.results ?? []).map((r) => schema.parse(r));
}

function ref(r: z.infer<typeof refRow>, now: number): OpsAssetRef {
  return {
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
  };
}

/** The metrics of the window ending at `now`, for all users. */
export async function opsMetrics(
  db: D1Database,
  window: OpsWindow,
  timeouts: StageTimeouts,
  now = Date.now(),
): Promise<Omit<OpsMetrics, "breaker">> {
  const windowMs = opsWindows[window];
  const since = now - windowMs;
  const bucketMs = BUCKET_MS[window];
  const q = (sqlText: string, ...params: unknown[]) => db.prepare(sqlText).bind(...params);

  const stageStatements = waitingStages.map((stage) =>
    q(
      `SELECT COUNT(*) AS n, MIN(status_at) AS oldest, COALESCE(SUM(status_at < ?), 0) AS stuck
       FROM assets WHERE status = ?`,
      now - timeouts[stage],
      stage,
    ),
  );
  const latencyStatements = latencySeries.map((s) =>
    q(percentileSql(LATENCY_VALUES[s]), since, now),
  );
  const stuckWhere = waitingStages.map(() => "(status = ? AND status_at < ?)").join(" OR ");
  const stuckParams = waitingStages.flatMap((stage) => [stage, now - timeouts[stage]]);
  const throughputSql = throughputStages
    .map((stage) => {
      const col = THROUGHPUT_COLUMN[stage];
      const only = stage === "failed" ? "status = 'failed' AND " : "";
      return `SELECT '${stage}' AS stage, CAST((${col} - ? - 1) / ? AS INTEGER) AS b, COUNT(*) AS n FROM assets
        WHERE ${only}${col} > ? AND ${col} <= ? GROUP BY b`;
    })
    .join(" UNION ALL ");
  const throughputParams = throughputStages.flatMap(() => [since, bucketMs, since, now]);

  const results = await db.batch([
    ...stageStatements,
    ...latencyStatements,
    q(
      `SELECT ${REF_COLUMNS} FROM assets WHERE ${stuckWhere} ORDER BY status_at LIMIT ?`,
      ...stuckParams,
      OPS_ITEMS_LISTED,
    ),
    q(throughputSql, ...throughputParams),
    q(
      `SELECT json_extract(error, '$.stage') AS stage, json_extract(error, '$.code') AS code,
         COUNT(*) AS total, COALESCE(SUM(status_at > ? AND status_at <= ?), 0) AS in_window
       FROM assets WHERE status = 'failed' GROUP BY stage, code
       ORDER BY in_window DESC, total DESC, stage, code LIMIT 50`,
      since,
      now,
    ),
    q(
      `SELECT ${REF_COLUMNS} FROM assets
       WHERE status = 'failed' AND json_extract(error, '$.code') = 'retries_exhausted'
       ORDER BY status_at DESC LIMIT ?`,
      OPS_ITEMS_LISTED,
    ),
    q("SELECT COUNT(*) AS n FROM assets WHERE retried_at > ? AND retried_at <= ?", since, now),
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

  const stages = {} as Record<WaitingStage, StageSnapshot>;
  let stuckCount = 0;
  for (const stage of waitingStages) {
    const [r] = rows(stageRow, next());
    stages[stage] = {
      count: r?.n ?? 0,
      oldestAgeMs: r?.oldest == null ? null : Math.max(0, now - r.oldest),
      timeoutMs: timeouts[stage],
      stuck: r?.stuck ?? 0,
    };
    stuckCount += stages[stage].stuck;
  }

  const latency = {} as Record<LatencySeries, Percentiles>;
  for (const s of latencySeries) {
    const [r] = rows(percentileRow, next());
    latency[s] = {
      count: r?.count ?? 0,
      sumMs: r?.sum_ms ?? 0,
      p50: r?.p50 ?? null,
      p95: r?.p95 ?? null,
      p99: r?.p99 ?? null,
    };
  }

  const stuckItems = rows(refRow, next()).map((r) => ref(r, now));

  const buckets = Math.ceil(windowMs / bucketMs);
  const perBucketMinute = bucketMs / 60_000;
  const series = Array.from({ length: buckets }, (_, i) => ({
    at: since + i * bucketMs,
    uploaded: 0,
    processed: 0,
    ready: 0,
    failed: 0,
  }));
  const totals = { uploaded: 0, processed: 0, ready: 0, failed: 0 };
  for (const r of rows(throughputRow, next())) {
    const bucket = series[Math.min(buckets - 1, Math.max(0, Math.floor(r.b)))];
    if (bucket) bucket[r.stage] += r.n / perBucketMinute;
    totals[r.stage] += r.n;
  }
  const minutes = windowMs / 60_000;
  const perMinute = {
    uploaded: totals.uploaded / minutes,
    processed: totals.processed / minutes,
    ready: totals.ready / minutes,
    failed: totals.failed / minutes,
  };

  const failures: FailureGroup[] = rows(failureRow, next()).map((r) => {
    const stage = failureStageSchema.safeParse(r.stage);
    return {
      // A malformed error column reads as parseAssetError reads it.
      stage: stage.success ? stage.data : "processing",
      code: r.code ?? "unknown",
      inWindow: r.in_window,
      total: r.total,
    };
  });
  const deadItems = rows(refRow, next()).map((r) => ref(r, now));
  const [retried] = rows(z.object({ n: num }), next());
  const [last] = rows(sweepRow, next());
  const [sweepTotals] = rows(sweepTotalsRow, next());

  return {
    generatedAt: now,
    window: { name: window, since, until: now },
    stages,
    throughput: { bucketMs, perMinute, series },
    latency,
    failures,
    retries: { assets: retried?.n ?? 0 },
    deadLetters: {
      inWindow: failures
        .filter((f) => f.code === "retries_exhausted")
        .reduce((n, f) => n + f.inWindow, 0),
      items: deadItems,
    },
    stuck: { count: stuckCount, items: stuckItems },
    sweeper: {
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
      inWindow: sweepTotals ?? {
        runs: 0,
        renotified: 0,
        expired: 0,
        purged: 0,
        reprocessed: 0,
        reembedded: 0,
      },
    },
  };
}
