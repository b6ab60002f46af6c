/**
 * What became of one queue message, as the queue loop logs it (one JSON line a message).
 * A thrown error is not an outcome: it is a transient failure, retried with backoff.
 */
export type Outcome =
  /** The stage finished: its asset moved on (`processed`, `ready`) or an event was applied. */
  | "completed"
  /** The asset failed permanently; `code` says why. */
  | "failed"
  /** Another consumer's claim was taken over from, or moved the asset, first. */
  | "superseded"
  /** The asset was deleted while the stage worked; what it wrote was removed. */
  | "deleted-meanwhile"
  /** Another delivery claimed the asset between our read and our claim. */
  | "claim-lost"
  /** The asset is already past this stage (a redelivery): nothing to do. */
  | "already-past"
  /** The asset is not yet at this stage: nothing to do. */
  | "not-yet"
  /** The processor found the asset processed and sent its embed message again. */
  | "embed-resent"
  /** No such asset (deleted, swept), or another user's. */
  | "gone"
  /** The message can never be valid: dropped. */
  | "malformed"
  /** Not a message this stage acts on (a delete notification, a variant key). */
  | "ignored"
  /** The original's bytes have no asset row: removed. */
  | "orphan-removed"
  /** The object's key names another user than the row. */
  | "owner-mismatch"
  /** The notification names an object R2 no longer has. */
  | "no-object"
  /** A dead letter of a transient failure, sent again after a backoff (`deadLettered`). */
  | "redriven"
  /** A dead letter met a live claim (or a settled asset): it changes nothing. */
  | "claim-live-or-settled";

export type StageResult =
  | { assetId: string | null; outcome: Exclude<Outcome, "failed"> }
  | { assetId: string; outcome: "failed"; code: string };

export function outcome(assetId: string | null, o: Exclude<Outcome, "failed">): StageResult {
  return { assetId, outcome: o };
}
