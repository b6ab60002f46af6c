import { latencySeries, type OpsMetrics, throughputStages, waitingStages } from "@darkroom/shared";

/**
 * The ops metrics in the Prometheus text exposition format (version 0.0.4), for people
 * who scrape: the same numbers as the JSON, computed once. Written here rather than
 * with prom-client: the values are a snapshot computed by SQL, not counters this
 * isolate accumulates, and prom-client's registry is built around a long-lived Node
 * process. Each family is `# HELP`, `# TYPE`, then its samples; label values are
 * escaped as the format requires (backslash, double quote, newline). The window a
 * scrape covers (`?since=`) is one gauge, `darkroom_ops_window_seconds{window}`, rather
 * than a label on every sample: one scrape is one window.
 */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string>;
type Sample = { labels?: Labels; value: number | null; suffix?: string };

function escapeLabel(v: string): string {
  return v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function escapeHelp(v: string): string {
  return v.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

function value(v: number | null): string {
  if (v === null || Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(v);
}

function family(name: string, type: "gauge" | "summary", help: string, samples: Sample[]): string {
  const lines = [`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`];
  for (const s of samples) {
    const labels = Object.entries(s.labels ?? {});
    const rendered =
      labels.length === 0
        ? ""
        : `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
    lines.push(`${name}${s.suffix ?? ""}${rendered} ${value(s.value)}`);
  }
  return lines.join("\n");
}

const seconds = (ms: number | null) => (ms === null ? null : ms / 1000);

export function toPrometheus(m: OpsMetrics): string {
  const w = m.window.name;
  const families = [
    family("darkroom_ops_window_seconds", "gauge", "Length of the window the other values cover.", [
      { labels: { window: w }, value: (m.window.until - m.window.since) / 1000 },
    ]),
    family("darkroom_stage_assets", "gauge", "Assets waiting in each stage now.", [
      ...waitingStages.map((stage) => ({ labels: { stage }, value: m.stages[stage].count })),
    ]),
    family(
      "darkroom_stage_oldest_age_seconds",
      "gauge",
      "Age of the asset that has waited longest in each stage (NaN: none waits).",
      waitingStages.map((stage) => ({
        labels: { stage },
        value: seconds(m.stages[stage].oldestAgeMs),
      })),
    ),
    family(
      "darkroom_stage_stuck_assets",
      "gauge",
      "Assets waiting in a stage longer than its timeout.",
      waitingStages.map((stage) => ({ labels: { stage }, value: m.stages[stage].stuck })),
    ),
    family(
      "darkroom_stage_timeout_seconds",
      "gauge",
      "The timeout past which an asset of a stage counts as stuck.",
      waitingStages.map((stage) => ({
        labels: { stage },
        value: seconds(m.stages[stage].timeoutMs),
      })),
    ),
    family(
      "darkroom_throughput_per_minute",
      "gauge",
      "Assets reaching each status per minute, averaged over the window.",
      throughputStages.map((stage) => ({
        labels: { stage },
        value: m.throughput.perMinute[stage],
      })),
    ),
    ...latencySeries.map((series) => {
      const p = m.latency[series];
      return family(
        `darkroom_${series}_seconds`,
        "summary",
        `Nearest-rank percentiles of ${series.replaceAll("_", " ")} over the window.`,
        [
          ...(["p50", "p95", "p99"] as const).map((k) => ({
            labels: { quantile: String(Number(k.slice(1)) / 100) },
            value: seconds(p[k]),
          })),
          { suffix: "_sum", value: p.sumMs / 1000 },
          { suffix: "_count", value: p.count },
        ],
      );
    }),
    family(
      "darkroom_failed_assets",
      "gauge",
      "Failed assets by the stage and code of their failure, failed within the window.",
      m.failures.map((f) => ({
        labels: { stage: f.stage, code: f.code },
        value: f.inWindow,
      })),
    ),
    family(
      "darkroom_failed_assets_now",
      "gauge",
      "Failed assets by stage and code, whenever they failed: what a retry would send back.",
      m.failures.map((f) => ({ labels: { stage: f.stage, code: f.code }, value: f.total })),
    ),
    family("darkroom_retried_assets", "gauge", "Assets retried within the window.", [
      { value: m.retries.assets },
    ]),
    family(
      "darkroom_dead_letters",
      "gauge",
      "Assets failed by a dead-letter queue (retries exhausted) within the window.",
      [{ value: m.deadLetters.inWindow }],
    ),
    family(
      "darkroom_ai_breaker_state",
      "gauge",
      "The AI circuit breaker's state: 1 for the current one.",
      [{ labels: { state: m.breaker.state }, value: 1 }],
    ),
    family(
      "darkroom_sweeper_last_run_timestamp_seconds",
      "gauge",
      "When the sweeper last ran (NaN: never).",
      [{ value: m.sweeper.lastRun ? m.sweeper.lastRun.startedAt / 1000 : null }],
    ),
    family(
      "darkroom_sweeper_resent",
      "gauge",
      "What the sweeper re-sent or removed within the window, by kind.",
      (["renotified", "reprocessed", "reembedded", "expired", "purged"] as const).map((kind) => ({
        labels: { kind },
        value: m.sweeper.inWindow[kind],
      })),
    ),
    family("darkroom_sweeper_runs", "gauge", "Sweeper runs within the window.", [
      { value: m.sweeper.inWindow.runs },
    ]),
  ];
  return `${families.join("\n")}\n`;
}
