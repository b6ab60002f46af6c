import {
  type FailureGroup,
  failureStageSchema,
  type LatencySeries,
  type LifecycleTimings,
  latencySeries,
  type OpsMetrics,
  type OpsWindow,
  opsWindows,
  type Percentiles,
  type StageSnapshot,
  type WaitingStage,
  waitingStages,
} from "@darkroom/shared";
import { histogramCount, histogramPercentile, mergeHistograms } from "./histogram";
import { OPS_ITEMS_LISTED, readShardMetrics, type ShardMetrics } from "./shard-metrics";

export { OPS_ITEMS_LISTED } from "./shard-metrics";

/**
 * The ops metrics (docs/operations.md, "Ops metrics"): each database holding assets (each
 * shard) is read on its own (shard-metrics.ts), and the parts merge here: counts add,
 * latency histograms add bucket by bucket and the percentiles are read from the sum (within
 * PERCENTILE_RELATIVE_ERROR of the exact nearest-rank value, histogram.ts), lists keep the
 * oldest stuck and the newest dead letters of all shards.
 *
 * Windows are (since, until]: `until` is now, `since` one window earlier; the rollups are
 * per minute, so a window that does not start on a whole minute leaves out the events of
 * its first, partial minute (DESIGN.md, "Counters and rollups").
 */

/** Percentiles reported, in percent. */
const PERCENTILES = [50, 95, 99] as const;

/** Buckets of the throughput series: a minute over the last hour, half an hour over a day. */
const BUCKET_MS: Record<OpsWindow, number> = { "1h": 60_000, "24h": 30 * 60_000 };

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

/** The metrics of the window ending at `now`, for all users of every database in `shards`. */
export async function opsMetrics(
  shards: readonly D1Database[],
  window: OpsWindow,
  timeouts: StageTimeouts,
  now = Date.now(),
): Promise<Omit<OpsMetrics, "breaker">> {
  const windowMs = opsWindows[window];
  const since = now - windowMs;
  const bucketMs = BUCKET_MS[window];
  const parts = await Promise.all(
    shards.map((db) => readShardMetrics(db, { since, until: now, bucketMs }, timeouts)),
  );
  return mergeShardMetrics(parts, { name: window, since, until: now, bucketMs }, timeouts);
}

/** The parts of every shard as one deployment's metrics. */
export function mergeShardMetrics(
  parts: readonly ShardMetrics[],
  window: { name: OpsWindow; since: number; until: number; bucketMs: number },
  timeouts: StageTimeouts,
): Omit<OpsMetrics, "breaker"> {
  const { since, until: now, bucketMs } = window;
  const windowMs = now - since;

  const stages = {} as Record<WaitingStage, StageSnapshot>;
  let stuckCount = 0;
  for (const stage of waitingStages) {
    let count = 0;
    let stuck = 0;
    let oldestAt: number | null = null;
    for (const p of parts) {
      const s = p.stages[stage];
      count += s.count;
      stuck += s.stuck;
      if (s.oldestAt !== null && (oldestAt === null || s.oldestAt < oldestAt))
        oldestAt = s.oldestAt;
    }
    stages[stage] = {
      count,
      oldestAgeMs: oldestAt === null ? null : Math.max(0, now - oldestAt),
      timeoutMs: timeouts[stage],
      stuck,
    };
    stuckCount += stuck;
  }

  const latency = {} as Record<LatencySeries, Percentiles>;
  for (const s of latencySeries) {
    const h = mergeHistograms(parts.map((p) => p.latency[s]));
    const [p50, p95, p99] = PERCENTILES.map((p) => histogramPercentile(h, p));
    latency[s] = {
      count: histogramCount(h),
      sumMs: h.sumMs,
      p50: p50 ?? null,
      p95: p95 ?? null,
      p99: p99 ?? null,
    };
  }

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
  for (const p of parts) {
    for (const r of p.throughput) {
      const bucket = series[Math.min(buckets - 1, Math.max(0, Math.floor(r.bucket)))];
      if (bucket) bucket[r.stage] += r.n / perBucketMinute;
      totals[r.stage] += r.n;
    }
  }
  const minutes = windowMs / 60_000;
  const perMinute = {
    uploaded: totals.uploaded / minutes,
    processed: totals.processed / minutes,
    ready: totals.ready / minutes,
    failed: totals.failed / minutes,
  };

  const groups = new Map<string, FailureGroup>();
  for (const p of parts) {
    for (const f of p.failures) {
      // An error without a stage or code reads as parseAssetError reads it.
      const parsed = failureStageSchema.safeParse(f.stage);
      const stage = parsed.success ? parsed.data : "processing";
      const code = f.code === "" ? "unknown" : f.code;
      const key = JSON.stringify([stage, code]);
      const g = groups.get(key) ?? { stage, code, inWindow: 0, total: 0 };
      g.inWindow += f.inWindow;
      g.total += f.total;
      groups.set(key, g);
    }
  }
  const failures = [...groups.values()]
    .filter((g) => g.inWindow > 0 || g.total > 0)
    .sort(
      (a, b) =>
        b.inWindow - a.inWindow ||
        b.total - a.total ||
        a.stage.localeCompare(b.stage) ||
        a.code.localeCompare(b.code),
    )
    .slice(0, 50);

  const stuckItems = parts
    .flatMap((p) => p.stuckItems)
    .sort((a, b) => a.at - b.at)
    .slice(0, OPS_ITEMS_LISTED)
    .map((t) => t.ref);
  const deadItems = parts
    .flatMap((p) => p.deadItems)
    .sort((a, b) => b.at - a.at)
    .slice(0, OPS_ITEMS_LISTED)
    .map((t) => t.ref);

  let lastRun: OpsMetrics["sweeper"]["lastRun"] = null;
  const inWindow = { runs: 0, renotified: 0, expired: 0, purged: 0, reprocessed: 0, reembedded: 0 };
  for (const p of parts) {
    if (p.lastRun && (!lastRun || p.lastRun.startedAt > lastRun.startedAt)) lastRun = p.lastRun;
    for (const k of Object.keys(inWindow) as Array<keyof typeof inWindow>) {
      inWindow[k] += p.sweeps[k];
    }
  }

  return {
    generatedAt: now,
    window: { name: window.name, since, until: now },
    stages,
    throughput: { bucketMs, perMinute, series },
    latency,
    failures,
    retries: { assets: parts.reduce((n, p) => n + p.retried, 0) },
    deadLetters: {
      inWindow: failures
        .filter((f) => f.code === "retries_exhausted")
        .reduce((n, f) => n + f.inWindow, 0),
      items: deadItems,
    },
    stuck: { count: stuckCount, items: stuckItems },
    sweeper: { lastRun, inWindow },
  };
}
