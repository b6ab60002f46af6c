// The Ops tab: the pipeline for everyone, for operators only (the API answers others 404).

import type { FailureStage } from "@darkroom/shared/assets";
import type { OpsMetrics, OpsWindow } from "@darkroom/shared/ops";
import { useEffect, useState } from "preact/hooks";
import { ago } from "./format";
import {
  FailuresSection,
  LatencySection,
  StagesSection,
  ThroughputSection,
} from "./metrics-sections";
import { type OpsAsset, opsApi } from "./ops-api";
import { Detail, Items } from "./ops-assets";

export { useIsOperator } from "./use-is-operator";

/** How often the numbers refresh while the tab is open. */
const REFRESH_MS = 5000;

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

      <StagesSection m={m} />
      <ThroughputSection m={m} />
      <LatencySection m={m} />
      <FailuresSection m={m} message={message} retry={retry} />
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
