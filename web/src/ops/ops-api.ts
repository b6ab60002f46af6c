// The ops API as the Ops tab uses it; an operator is whoever GET /api/ops/metrics answers.
import type { FailureStage } from "@darkroom/shared/assets";
import type { OpsMetrics, OpsWindow } from "@darkroom/shared/ops";
import { ApiError, type Asset, request } from "../api";

export type OpsAsset = Asset & {
  userId: string;
  statusAt: number | null;
  retries: number;
  sweeps: number;
  sweptAt: number | null;
};

export type RetryOutcomes = {
  requeued: number;
  reupload: number;
  skipped: number;
  retryLimitReached: number;
};

export const opsApi = {
  metrics: (since: OpsWindow) => request<OpsMetrics>(`/api/ops/metrics?since=${since}`),
  asset: (id: string) => request<OpsAsset>(`/api/ops/assets/${encodeURIComponent(id)}`),
  retry: (stage: FailureStage, code: string) =>
    request<RetryOutcomes>("/api/ops/retry", { method: "POST", body: { stage, code } }),
};

/** True when the signed-in subject is an operator: everyone else gets a 404 there. */
export async function isOperator(): Promise<boolean> {
  try {
    await opsApi.metrics("1h");
    return true;
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 401)) return false;
    throw err;
  }
}
