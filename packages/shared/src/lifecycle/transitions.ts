import type { AssetStatus } from "../assets";
import type { EventRow } from "./events";
import { type PermanentFailure, parseAssetError } from "./failures";
import { PIPELINE, type PipelineEnv, pipelineStage, retryFrom, send } from "./pipeline";
import { UNCLAIMED } from "./stage";
import { type Lifecycle, transition } from "./write";

// The status changes that are not a claimed stage's (stage.ts): the upload stage's, which
// claims nothing, and the two a person asks for, retry and delete. Each is one conditional
// write (write.ts); the table (pipeline.ts) says which statuses they move between.

const upload = pipelineStage("upload");

/** The upload stage completes: the bytes are in R2 (`pending → uploaded`), no longer expiring. */
export function completeUpload(lc: Lifecycle, assetId: string): Promise<EventRow | null> {
  return transition(lc, assetId, upload.from, upload.done, { expiresAt: null });
}

/** The upload stage fails at once with `err` (bytes that are not what was declared). */
export function failUpload(
  lc: Lifecycle,
  assetId: string,
  err: PermanentFailure,
): Promise<EventRow | null> {
  return transition(lc, assetId, upload.from, "failed", { error: err.toColumn() });
}

/** Starts a delete: the row becomes a `deleting` tombstone, from the status it was seen in. */
export function beginDelete(
  lc: Lifecycle,
  assetId: string,
  seen: AssetStatus,
): Promise<EventRow | null> {
  return transition(lc, assetId, seen, "deleting");
}

export type RetryOutcome = "requeued" | "reupload" | "skipped";

/**
 * Sends a failed asset back to the stage that failed (`retryFrom` its error's stage): its
 * `from` status and its message. When that message cannot be built (the original is not
 * in R2), the asset goes back to the first stage instead (`pending`, expiring now): the
 * person resumes the same bytes and gets a fresh upload URL for the same asset.
 */
export async function retryFailed(
  env: PipelineEnv,
  lc: Lifecycle,
  row: { id: string; userId: string; status: AssetStatus; error: string | null },
): Promise<RetryOutcome> {
  if (row.status !== "failed") return "skipped";
  const stage = retryFrom(parseAssetError(row.error)?.stage ?? "processing");
  const body = await stage.message(env, row);
  const at = lc.now();
  // When, for the ops metrics, whoever asked (the owner or an operator); the count
  // (`retries`) is the api's retry budget's.
  const retried = { ...UNCLAIMED, retriedAt: at };
  const first = PIPELINE[0];
  const restart = body === null ? first : stage;
  const next = await transition(
    lc,
    row.id,
    "failed",
    restart.from,
    restart === first ? { ...retried, expiresAt: at } : retried,
  );
  if (!next) return "skipped";
  if (body === null) return "reupload";
  await send(env, stage, body);
  return "requeued";
}
