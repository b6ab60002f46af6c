// What the scheduler asks the server about a PUT in trouble: a fresh URL when the signed
// one expired (the same POST /api/uploads for this one file: a pending asset keeps its id),
// and after a 412 whether the asset holds its original after all.
import { classifyUploadedAsset, type Verdict } from "@darkroom/shared/client";
import { ApiError, api, assetAnswer } from "../api";
import { uploadFileOf } from "./registration";
import type { Row } from "./rows";
import type { RenewOutcome } from "./scheduler";

export async function renewTicket(
  row: Row | undefined,
  batchId: string | null,
): Promise<RenewOutcome> {
  if (!row?.sha256 || !row.type) {
    return {
      kind: "error",
      verdict: { kind: "fail", code: "no_file", message: "nothing to renew" },
    };
  }
  try {
    const res = await api.uploads([uploadFileOf(row)], batchId);
    const f = res.files[0];
    if (f?.status === "upload" && f.upload) return { kind: "ticket", ticket: f.upload };
    return { kind: "stored" };
  } catch (err) {
    const status = err instanceof ApiError ? err.status : 0;
    const message = err instanceof Error ? err.message : String(err);
    const code = err instanceof ApiError ? err.code : "network_error";
    // Already retried by the API client: what is left is final for this renewal.
    const verdict: Verdict =
      status === 0 || status >= 500 || status === 429
        ? { kind: "retry", reason: "server", code, message, retryAfterMs: null }
        : { kind: "fail", code, message };
    return { kind: "error", verdict };
  }
}

/** After a 412: does the API say the asset holds its original? */
export async function verifyUploaded(assetId: string): Promise<Verdict> {
  const { answer, asset } = await assetAnswer(assetId);
  return classifyUploadedAsset(answer, asset);
}
