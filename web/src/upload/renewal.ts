// What the scheduler asks the server about a PUT in trouble: a fresh URL when the signed
// one expired (the same POST /api/uploads for this one file: a pending asset keeps its id),
// and after a 412 whether the asset holds its original after all.
import {
  type Answer,
  classifyApiAnswer,
  classifyUploadedAsset,
  type Verdict,
} from "@darkroom/shared/client";
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
    // Already retried by the API client: what is left is the shared classification's to
    // judge (a 429 waits, a 5xx or a retryable 409 tries again, the rest fails).
    return { kind: "error", verdict: classifyApiAnswer(answerOf(err)) };
  }
}

/** A failed API call as the answer the shared classification reads. */
export function answerOf(err: unknown): Answer {
  if (!(err instanceof ApiError) || err.status === 0) {
    return { status: 0, networkError: err instanceof Error ? err.message : String(err) };
  }
  return {
    status: err.status,
    body: JSON.stringify({ error: { code: err.code, message: err.message } }),
  };
}

/** After a 412: does the API say the asset holds its original? */
export async function verifyUploaded(assetId: string): Promise<Verdict> {
  const { answer, asset } = await assetAnswer(assetId);
  return classifyUploadedAsset(answer, asset);
}
