// The Ops tab's panels of numbers: one component per section of the metrics answer.

import type { FailureStage } from "@darkroom/shared/assets";
import {
  type LatencySeries,
  latencySeries,
  type OpsMetrics,
  waitingStages,
} from "@darkroom/shared/ops";
import { LineChart, PercentileBars } from "./charts";
import { duration, rate } from "./format";

const LATENCY_LABEL: Record<LatencySeries, string> = {
  upload_registration: "upload registration",
  uploaded_to_processed: "uploaded → processed",
  processed_to_ready: "processed → ready",
};

/** What waits in each stage now, and what is stuck past its timeout. */
export function StagesSection({ m }: { m: OpsMetrics }) {
  return (
    <section>
      <h2>Stages now</h2>
      <table class="ops-table" data-testid="ops-stages">
        <thead>
          <tr>
            <th>stage</th>
            <th>waiting</th>
            <th>oldest</th>
            <th>timeout</th>
            <th>stuck</th>
          </tr>
        </thead>
        <tbody>
          {waitingStages.map((s) => {
            const st = m.stages[s];
            return (
              <tr key={s} class={st.stuck > 0 ? "stuck" : ""}>
                <td>{s}</td>
                <td>{st.count}</td>
                <td>{duration(st.oldestAgeMs)}</td>
                <td>{duration(st.timeoutMs)}</td>
                <td>{st.stuck}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

/** Assets per minute through each stage over the window. */
export function ThroughputSection({ m }: { m: OpsMetrics }) {
  const series = m.throughput.series;
  return (
    <section>
      <h2>Throughput</h2>
      <p class="muted">
        per minute over the window: uploaded {rate(m.throughput.perMinute.uploaded)} · processed{" "}
        {rate(m.throughput.perMinute.processed)} · ready {rate(m.throughput.perMinute.ready)} ·
        failed {rate(m.throughput.perMinute.failed)}
      </p>
      <LineChart
        start={m.window.since}
        bucketMs={m.throughput.bucketMs}
        unit="per minute"
        lines={[
          { label: "uploaded", className: "s-uploaded", values: series.map((b) => b.uploaded) },
          {
            label: "processed",
            className: "s-processed",
            values: series.map((b) => b.processed),
          },
          { label: "ready", className: "s-ready", values: series.map((b) => b.ready) },
          { label: "failed", className: "s-failed", values: series.map((b) => b.failed) },
        ]}
      />
    </section>
  );
}

/** p50/p95/p99 of each latency series over the window. */
export function LatencySection({ m }: { m: OpsMetrics }) {
  return (
    <section>
      <h2>Latency</h2>
      <table class="ops-table" data-testid="ops-latency">
        <thead>
          <tr>
            <th />
            <th>count</th>
            <th>p50</th>
            <th>p95</th>
            <th>p99</th>
          </tr>
        </thead>
        <tbody>
          {latencySeries.map((s) => (
            <tr key={s}>
              <td>{LATENCY_LABEL[s]}</td>
              <td>{m.latency[s].count}</td>
              <td>{duration(m.latency[s].p50)}</td>
              <td>{duration(m.latency[s].p95)}</td>
              <td>{duration(m.latency[s].p99)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <PercentileBars
        groups={latencySeries.map((s) => ({ label: LATENCY_LABEL[s], ...m.latency[s] }))}
      />
    </section>
  );
}

/** Failed assets by stage and code, each group retried with one button. */
export function FailuresSection({
  m,
  message,
  retry,
}: {
  m: OpsMetrics;
  message: string | null;
  retry: (stage: FailureStage, code: string) => void;
}) {
  return (
    <section>
      <h2>Failures by code</h2>
      <p class="muted" data-testid="ops-retried">
        {m.retries.assets} assets retried and {m.deadLetters.inWindow} dead-lettered in the window
      </p>
      {message && (
        <p class="notice" data-testid="ops-retry-result">
          {message}
        </p>
      )}
      {m.failures.length === 0 ? (
        <p class="muted">No failed assets.</p>
      ) : (
        <table class="ops-table" data-testid="ops-failures">
          <thead>
            <tr>
              <th>stage</th>
              <th>code</th>
              <th>in window</th>
              <th>failed now</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {m.failures.map((f) => (
              <tr key={`${f.stage}/${f.code}`} data-code={f.code}>
                <td>{f.stage}</td>
                <td>
                  <code>{f.code}</code>
                </td>
                <td>{f.inWindow}</td>
                <td>{f.total}</td>
                <td>
                  <button type="button" onClick={() => retry(f.stage, f.code)}>
                    Retry all {f.total}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
