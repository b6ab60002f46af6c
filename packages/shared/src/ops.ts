import type { AssetStatus, FailureStage } from "./assets";

/**
 * What `GET /api/ops/metrics` answers (docs/operations.md, "Ops metrics"): the api
 * computes it with SQL over D1, the Ops tab and the Prometheus text are views of it.
 */

/** The statuses an asset waits in on its way to `ready`, in pipeline order. */
export const waitingStages = [
  "pending",
  "uploaded",
  "processing",
  "processed",
  "embedding",
] as const satisfies readonly AssetStatus[];
export type WaitingStage = (typeof waitingStages)[number];

/** The windows the metrics are computed over (`?since=`), and their length. */
export const opsWindowNames = ["1h", "24h"] as const;
export type OpsWindow = (typeof opsWindowNames)[number];
export const opsWindows: Readonly<Record<OpsWindow, number>> = {
  "1h": 60 * 60_000,
  "24h": 24 * 60 * 60_000,
};

/**
 * The latencies measured, by the name they carry everywhere: in D1 (request_timings'
 * `route`, and the asset timestamps), in Analytics Engine (`index1`/`blob1`) and in the
 * Prometheus names.
 */
export const latencySeries = [
  "upload_registration",
  "uploaded_to_processed",
  "processed_to_ready",
] as const;
export type LatencySeries = (typeof latencySeries)[number];

/**
 * The stage transitions counted for throughput: the timestamp each is read from is the
 * time an asset reached that status (`failed`: entered failed).
 */
export const throughputStages = ["uploaded", "processed", "ready", "failed"] as const;
export type ThroughputStage = (typeof throughputStages)[number];

/** Nearest-rank percentiles (docs/operations.md): p of n sorted values is the ceil(p·n/100)-th. */
export type Percentiles = {
  count: number;
  sumMs: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
};

export type StageSnapshot = {
  count: number;
  /** Age of the item that has waited longest in this status, null when none waits. */
  oldestAgeMs: number | null;
  /** Past this an item is stuck: the sweeper's timeout for the status. */
  timeoutMs: number;
  stuck: number;
};

export type OpsAssetRef = {
  id: string;
  userId: string;
  batchId: string;
  name: string;
  status: AssetStatus;
  /** How long it has been in its status. */
  ageMs: number;
  attempts: number;
  retries: number;
  /** Messages the sweeper re-sent for it, and when it last did (epoch ms). */
  sweeps: number;
  sweptAt: number | null;
  error: { stage: FailureStage; code: string; message: string } | null;
};

export type FailureGroup = {
  stage: FailureStage;
  code: string;
  /** Failed within the window. */
  inWindow: number;
  /** Failed now, whenever it happened: what "retry all" would send back. */
  total: number;
};

export type SweepRun = {
  startedAt: number;
  durationMs: number;
  renotified: number;
  expired: number;
  purged: number;
  reprocessed: number;
  reembedded: number;
};

export type BreakerView =
  | { state: "not_configured" }
  | { state: "closed" | "open" | "half-open"; changedAt: number; lastFailure: string | null };

export type OpsMetrics = {
  generatedAt: number;
  window: { name: OpsWindow; since: number; until: number };
  stages: Record<WaitingStage, StageSnapshot>;
  throughput: {
    bucketMs: number;
    /** Per minute over the whole window. */
    perMinute: Record<ThroughputStage, number>;
    /** Oldest bucket first; every bucket of the window, empty ones as zeros. */
    series: Array<{ at: number } & Record<ThroughputStage, number>>;
  };
  latency: Record<LatencySeries, Percentiles>;
  failures: FailureGroup[];
  retries: { assets: number };
  deadLetters: { inWindow: number; items: OpsAssetRef[] };
  stuck: { count: number; items: OpsAssetRef[] };
  breaker: BreakerView;
  sweeper: {
    lastRun: SweepRun | null;
    inWindow: Omit<SweepRun, "startedAt" | "durationMs"> & { runs: number };
  };
};
