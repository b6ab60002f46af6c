import {
  failure,
  hubPublisher,
  lifecycleTimings,
  noLiveClaim,
  parseObjectKey,
  publishSafely,
  r2NotificationSchema,
  transition,
} from "@darkroom/shared";
import { assets } from "@darkroom/shared/db";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { processStage } from "./process-stage";

function hub(env: Env, uid: string) {
  return hubPublisher(env.USER_HUB, uid);
}

/**
 * One R2 object-create notification: `pending → uploaded`, then the processing stage.
 * Idempotent: a second delivery finds the asset further along and only re-sends the next
 * stage's message. Throws on transient failures (the caller retries).
 */
export async function processMessage(env: Env, body: unknown): Promise<string> {
  const parsed = r2NotificationSchema.safeParse(body);
  if (!parsed.success) {
    // Never valid however often it is retried: say so loudly and drop it.
    console.error("uploads: malformed notification dropped", JSON.stringify(parsed.error.issues));
    return "malformed";
  }
  const n = parsed.data;
  if (n.action === "DeleteObject" || n.action === "LifecycleDeletion") return "ignored";
  const key = parseObjectKey(n.object.key);
  if (key?.kind !== "original") return "ignored";

  const db = drizzle(env.DB);
  const [row] = await db.select().from(assets).where(eq(assets.id, key.assetId));
  if (!row) {
    // No row owns these bytes (expired and swept, or deleted): do not keep an orphan.
    await env.BUCKET.delete(n.object.key);
    return "orphan-removed";
  }
  if (row.userId !== key.uid) {
    console.error("uploads: key owner does not match the asset row", { assetId: row.id });
    return "owner-mismatch";
  }
  if (row.status !== "pending") return processStage(env, row.id, row.userId);

  // R2 is the truth about the bytes: a late or repeated notification may name an object
  // that is gone (removed after a size mismatch), and `uploaded` means the bytes are there.
  const head = await env.BUCKET.head(n.object.key);
  if (!head) return "no-object";
  const size = head.size;
  if (size !== row.size) {
    const t = await transition(db, row.id, "pending", "failed", {
      error: failure(
        "upload",
        "size_mismatch",
        `The upload is ${size} bytes; ${row.size} were declared`,
      ),
    });
    if (t) {
      await env.BUCKET.delete(n.object.key);
      await publishSafely(hub(env, row.userId), [
        { assetId: t.id, batchId: t.batchId, status: t.status, version: t.version, error: t.error },
      ]);
    }
    return "size-mismatch";
  }
  const t = await transition(db, row.id, "pending", "uploaded", { expiresAt: null });
  if (t) {
    await publishSafely(hub(env, row.userId), [
      { assetId: t.id, batchId: t.batchId, status: t.status, version: t.version },
    ]);
  }
  return processStage(env, row.id, row.userId);
}

/** A notification that exhausted its retries: the asset fails with a reason. */
export async function processDeadLetter(env: Env, body: unknown): Promise<string> {
  const parsed = r2NotificationSchema.safeParse(body);
  const key = parsed.success ? parseObjectKey(parsed.data.object.key) : null;
  if (key?.kind !== "original") {
    console.error("uploads-dlq: unusable message dropped", JSON.stringify(body));
    return "malformed";
  }
  const db = drizzle(env.DB);
  const [row] = await db.select().from(assets).where(eq(assets.id, key.assetId));
  if (!row || row.userId !== key.uid) return "gone";
  const stage = row.status === "pending" ? "upload" : "processing";
  const t = await transition(
    db,
    row.id,
    ["pending", "uploaded", "processing"],
    "failed",
    {
      claimedAt: null,
      error: failure(
        stage,
        "retries_exhausted",
        "Processing kept failing after several retries; retry it to try again",
      ),
    },
    noLiveClaim("processing", lifecycleTimings(env).processingLeaseMs),
  );
  if (!t) return row.status === "processing" ? "claim-live-or-settled" : "already-settled";
  await publishSafely(hub(env, row.userId), [
    { assetId: t.id, batchId: t.batchId, status: t.status, version: t.version, error: t.error },
  ]);
  return "failed";
}
