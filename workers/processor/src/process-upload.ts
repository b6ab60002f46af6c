import {
  type AssetStore,
  completeUpload,
  deadLettered,
  failUpload,
  lifecycleFor,
  ownedAsset,
  PermanentFailure,
  parseObjectKey,
  pipelineStage,
  r2NotificationSchema,
  type StageResult,
  send,
  storeOfAsset,
  UserMoving,
} from "@darkroom/shared";
import { assets } from "@darkroom/shared/db";
import { eq } from "drizzle-orm";
import { processingSpec, runProcessing } from "./process-stage";

/** The asset an uploads message is about, when its key names an original. */
export function assetIdOf(body: unknown): string | null {
  const parsed = r2NotificationSchema.safeParse(body);
  const key = parsed.success ? parseObjectKey(parsed.data.object.key) : null;
  return key?.kind === "original" ? key.assetId : null;
}

/**
 * One R2 object-create notification: the upload stage (`pending → uploaded`), then the
 * processing stage at once (its message is this notification: pipeline.ts). Idempotent: a
 * second delivery finds the asset further along and only re-sends the next stage's
 * message. Throws on transient failures (the caller retries).
 */
export async function uploadArrived(env: Env, body: unknown): Promise<StageResult> {
  const parsed = r2NotificationSchema.safeParse(body);
  if (!parsed.success) {
    // Never valid however often it is retried: say so loudly and drop it.
    console.error("uploads: malformed notification dropped", JSON.stringify(parsed.error.issues));
    return { assetId: null, outcome: "malformed" };
  }
  const n = parsed.data;
  const key = parseObjectKey(n.object.key);
  if (n.action === "DeleteObject" || n.action === "LifecycleDeletion" || key?.kind !== "original")
    return { assetId: null, outcome: "ignored" };

  const lc = await lifecycleFor(env, key.uid);
  // By id alone: a row of another user under this key is an anomaly to report, not an
  // orphan to remove.
  const row = await assetAnywhere(env, lc.store, key.assetId);
  if (!row) {
    // No row owns these bytes (expired and swept, or deleted): do not keep an orphan.
    await env.BUCKET.delete(n.object.key);
    return { assetId: key.assetId, outcome: "orphan-removed" };
  }
  if (row.userId !== key.uid) {
    console.error("uploads: key owner does not match the asset row", { assetId: row.id });
    return { assetId: row.id, outcome: "owner-mismatch" };
  }
  if (row.status !== "pending") return runProcessing(env, row.id, row.userId);

  // R2 is the truth about the bytes: a late or repeated notification may name an object
  // that is gone (removed after a size mismatch), and `uploaded` means the bytes are there.
  const head = await env.BUCKET.head(n.object.key);
  if (!head) return { assetId: row.id, outcome: "no-object" };
  if (head.size !== row.size) {
    const err = new PermanentFailure(
      "upload",
      "size_mismatch",
      `The upload is ${head.size} bytes; ${row.size} were declared`,
    );
    if (await failUpload(lc, row.id, err)) await env.BUCKET.delete(n.object.key);
    return { assetId: row.id, outcome: "failed", code: err.code };
  }
  await completeUpload(lc, row.id);
  return runProcessing(env, row.id, row.userId);
}

/**
 * A notification that exhausted its retries: sent again later while its failures were
 * transient and the re-drive budget lasts (`deadLettered`), else the asset fails.
 */
export async function processDeadLetter(
  env: Env,
  body: unknown,
  now: () => number = Date.now,
): Promise<StageResult> {
  const parsed = r2NotificationSchema.safeParse(body);
  const key = parsed.success ? parseObjectKey(parsed.data.object.key) : null;
  if (key?.kind !== "original") {
    console.error("uploads-dlq: unusable message dropped", JSON.stringify(body));
    return { assetId: null, outcome: "malformed" };
  }
  const lc = await lifecycleFor(env, key.uid, now);
  const row = await ownedAsset(lc, key.assetId);
  if (!row) return { assetId: key.assetId, outcome: "gone" };
  const err = new PermanentFailure(
    row.status === "pending" ? "upload" : "processing",
    "retries_exhausted",
    "Processing kept failing after several retries; retry it to try again",
  );
  const spec = processingSpec(env);
  const exhaustedFrom = ["pending", "uploaded", "processing"] as const;
  const stage = pipelineStage(row.status === "pending" ? "upload" : "processing");
  return deadLettered(lc, spec, row, ["pending", spec.from], exhaustedFrom, err, (delaySeconds) =>
    send(env, stage, parsed.data, delaySeconds),
  );
}

/**
 * The asset row `assetId`, from the key owner's shard or, when it is not there, from the
 * shard that has it: a row of another user is an anomaly to report, not an orphan to
 * remove. Rare (a key naming someone else), so asking every shard costs little.
 */
async function assetAnywhere(env: Env, store: AssetStore, assetId: string) {
  const [own] = await store.db.select().from(assets).where(eq(assets.id, assetId));
  if (own) return own;
  // The user moved to another shard since `store` was found: the retry writes there.
  if (!(await store.stillHome())) throw new UserMoving(store.uid);
  const other = await storeOfAsset(env, assetId);
  if (!other) return undefined;
  const [theirs] = await other.db.select().from(assets).where(eq(assets.id, assetId));
  return theirs;
}
