// The Ops tab: the pipeline for everyone, for operators only (the API answers others 404).

import type { FailureStage } from "@darkroom/shared/assets";
import {
  type LatencySeries,
  latencySeries,
  type OpsAssetRef,
  type OpsMetrics,
  type OpsWindow,
  waitingStages,
} from "@darkroom/shared/ops";
import { useEffect, useState } from "preact/hooks";
import { LineChart, PercentileBars } from "./charts";
import { ago, duration, rate } from "./format";
import { isOperator, type OpsAsset, opsApi } from "./ops-api";

/** How often the numbers refresh while the tab is open. */
const REFRESH_MS = 5000;

const LATENCY_LABEL: Record<LatencySeries, string> = {
  upload_registration: "upload registration",
  uploaded_to_processed: "uploaded → processed",
  processed_to_ready: "processed → ready",
};

/** Whether to show the Ops tab: asks the API once per token. */
export function useIsOperator(token: string | null): boolean {
  const [operator, setOperator] = useState(false);
  useEffect(() => {
    setOperator(false);
    if (!token) return;
    let live = true;
    isOperator().then(
      (yes) => live && setOperator(yes),
      () => live && setOperator(false),
    );
    return () => {
      live = false;
    };
  }, [token]);
  return operator;
}

export function OpsView() {
  const [since, setSince] = useState<OpsWindow>("1h");
  const [m, setM] = useState<OpsMetrics | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const [detail, setDetail] = useState<OpsAsset | null>(null);
  const [message, setMessage] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    opsApi.metrics(since).then(
      (fresh) => {
        if (!live) return;
        setM(fresh);
        setError(null);
      },
      (err) => live && setError(err instanceof Error ? err.message : String(err)),
    );
    const timer = setTimeout(() => setTick((t) => t + 1), REFRESH_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [since, tick]);

  const open = async (id: string) => {
    try {
      setDetail(await opsApi.asset(id));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  const retry = async (stage: FailureStage, code: string) => {
    setMessage(null);
    try {
      const r = await opsApi.retry(stage, code);
      setMessage(
        `${stage}/${code}: ${r.requeued} requeued, ${r.reupload} waiting for a re-upload, ${r.skipped} skipped, ${r.retryLimitReached} past their retry limit`,
      );
      setTick((t) => t + 1);
    } catch (err) {
      setMessage(err instanceof Error ? err.message : String(err));
    }
  };

  if (!m) return <p class="muted">{error ?? "Loading the metrics…"}</p>;
  const now = m.generatedAt;
  const series = m.throughput.series;
  return (
    <div class="ops" data-testid="ops">
      <div class="ops-bar">
        <label>
          Window{" "}
          <select
            value={since}
            onChange={(e) => setSince(e.currentTarget.value === "24h" ? "24h" : "1h")}
          >
            <option value="1h">last hour</option>
            <option value="24h">last 24 h</option>
          </select>
        </label>
        <span class="muted" data-testid="ops-updated">
          updated {new Date(now).toLocaleTimeString()}, every {REFRESH_MS / 1000} s
        </span>
        <span>
          AI breaker: <b data-testid="ops-breaker">{m.breaker.state.replace("_", " ")}</b>
        </span>
        <span>
          Sweeper: last run {ago(m.sweeper.lastRun?.startedAt ?? null, now)}
          {m.sweeper.lastRun &&
            ` (re-sent ${m.sweeper.lastRun.renotified + m.sweeper.lastRun.reprocessed + m.sweeper.lastRun.reembedded})`}
        </span>
      </div>
      {error && <p class="error">{error}</p>}

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

      <Items
        title={`Stuck (${m.stuck.count})`}
        testid="ops-stuck"
        items={m.stuck.items}
        empty="Nothing is older than its stage's timeout."
        onOpen={open}
      />
      <Items
        title="Dead letters"
        testid="ops-dead"
        items={m.deadLetters.items}
        empty="No dead-lettered assets."
        onOpen={open}
      />
      {detail && <Detail asset={detail} onClose={() => setDetail(null)} />}
    </div>
  );
}

function sweeperSaid(i: OpsAssetRef, now: number): string {
  return i.sweeps === 0 ? "not re-sent yet" : `re-sent ${i.sweeps}× (last ${ago(i.sweptAt, now)})`;
}

function Items(props: {
  title: string;
  testid: string;
  items: OpsAssetRef[];
  empty: string;
  onOpen: (id: string) => void;
}) {
  const now = Date.now();
  return (
    <section>
      <h2>{props.title}</h2>
      {props.items.length === 0 ? (
        <p class="muted">{props.empty}</p>
      ) : (
        <ul class="ops-items" data-testid={props.testid}>
          {props.items.map((i) => (
            <li key={i.id}>
              <a
                href={`#ops/asset/${i.id}`}
                onClick={(e) => {
                  e.preventDefault();
                  props.onOpen(i.id);
                }}
              >
                {i.name}
              </a>{" "}
              <span class="muted">
                {i.status} for {duration(i.ageMs)}
                {i.error ? ` · ${i.error.stage}/${i.error.code}` : ""} · {sweeperSaid(i, now)} ·{" "}
                {i.attempts} attempts
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Detail(props: { asset: OpsAsset; onClose: () => void }) {
  const a = props.asset;
  return (
    <div class="modal" data-testid="ops-detail">
      <div class="modal-body">
        <button type="button" class="close" onClick={props.onClose}>
          ×
        </button>
        {a.urls.thumb && <img class="preview" src={a.urls.thumb} alt={a.name} />}
        <table>
          <tbody>
            <tr>
              <th>name</th>
              <td>{a.name}</td>
            </tr>
            <tr>
              <th>asset</th>
              <td>
                <code>{a.id}</code>
              </td>
            </tr>
            <tr>
              <th>user</th>
              <td>
                <code>{a.userId}</code>
              </td>
            </tr>
            <tr>
              <th>status</th>
              <td>
                {a.status} since {a.statusAt === null ? "–" : new Date(a.statusAt).toLocaleString()}
              </td>
            </tr>
            <tr>
              <th>error</th>
              <td>{a.error ? `${a.error.stage}/${a.error.code}: ${a.error.message}` : "–"}</td>
            </tr>
            <tr>
              <th>attempts · retries · sweeps</th>
              <td>
                {a.attempts} · {a.retries} · {a.sweeps}
              </td>
            </tr>
          </tbody>
        </table>
      </div>
    </div>
  );
}
