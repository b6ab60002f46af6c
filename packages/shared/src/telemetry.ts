import type { LatencySeries } from "./ops";

/**
 * Latencies for Workers Analytics Engine (production only: the `METRICS` binding is
 * declared under `[env.production]`; without it nothing is written). One layout for
 * every data point, so one SQL API query reads them all (docs/operations.md, "The same
 * percentiles from Analytics Engine"):
 *
 * - `index1` and `blob1`: the series (`request`, or a stage latency of `latencySeries`);
 *   the index is the sampling key, so each series is sampled on its own.
 * - `blob2`: what was timed (`POST /api/uploads` for a request; empty for a stage).
 * - `blob3`: the HTTP status of a request, empty for a stage.
 * - `double1`: the latency in milliseconds.
 *
 * Within Analytics Engine's documented limits: at most 20 blobs (16 KB together), 20
 * doubles and one index of at most 96 bytes per data point, and at most 250 data points
 * per invocation (developers.cloudflare.com/analytics/analytics-engine/limits/); a
 * request writes one, a stage one per asset it completes (a queue batch is at most 10).
 * `writeDataPoint` does not return a promise and needs no `waitUntil`
 * (developers.cloudflare.com/workers/examples/analytics-engine).
 */
export type LatencyPoint =
  | { series: "request"; what: string; status: number; ms: number }
  | { series: Exclude<LatencySeries, "upload_registration">; ms: number };

export function writeLatency(dataset: AnalyticsEngineDataset | undefined, p: LatencyPoint): void {
  if (!dataset || !Number.isFinite(p.ms) || p.ms < 0) return;
  const detail = p.series === "request" ? [p.what.slice(0, 200), String(p.status)] : ["", ""];
  try {
    dataset.writeDataPoint({ indexes: [p.series], blobs: [p.series, ...detail], doubles: [p.ms] });
  } catch (err) {
    // Telemetry never fails the work it measures.
    console.error("telemetry: writeDataPoint failed", String(err));
  }
}
