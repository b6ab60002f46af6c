import {
  assetEvent,
  assetPrefix,
  deletedEvent,
  deleteVectors,
  type EmbedMessage,
  type EventRow,
  eventColumns,
  lifecycleFor,
  objectCreatedNotification,
  originalKey,
  parseAssetError,
  publishSafely,
  type R2Notification,
  transition,
  UNCLAIMED,
  versioned,
} from "@darkroom/shared";
import { assetFeatures, assets, batchItems, searchDocs } from "@darkroom/shared/db";
import { and, eq } from "drizzle-orm";
import { config } from "./config/config";

type Row = typeof assets.$inferSelect;

/** The message R2 would send for this asset's original; null when R2 has no object. */
export function notificationFor(
  env: Env,
  uid: string,
  assetId: string,
): Promise<R2Notification | null> {
  return notificationForKey(env, originalKey(uid, assetId));
}

/** The message R2's object-create notification sends for `key`; null without an object. */
export async function notificationForKey(env: Env, key: string): Promise<R2Notification | null> {
  const head = await env.BUCKET.head(key);
  if (!head) return null;
  return objectCreatedNotification(config(env).R2_BUCKET_NAME, key, head);
}

export type RetryOutcome = "requeued" | "reupload" | "skipped";

/**
 * Sends a failed asset back to the stage that failed: `upload` → pending (the
 * notification is re-sent when R2 has the object, otherwise the client resumes it with
 * a fresh URL), `processing` → uploaded + uploads message, `embedding` → processed +
 * embed message.
 */
export async function retryFailed(env: Env, row: Row): Promise<RetryOutcome> {
  if (row.status !== "failed") return "skipped";
  const error = parseAssetError(row.error);
  const lc = lifecycleFor(env, row.userId);
  const uid = row.userId;
  const stage = error?.stage ?? "processing";
  const note = stage === "embedding" ? null : await notificationFor(env, uid, row.id);
  // When, for the ops metrics, whoever asked (the owner or an operator); the count
  // (`retries`) is the retry budget's (lib/limits/retry-budget.ts).
  const retried = { ...UNCLAIMED, retriedAt: Date.now() };
  let outcome: RetryOutcome = "requeued";
  let next: EventRow | null;
  if (stage === "embedding") {
    next = await transition(lc, row.id, "failed", "processed", retried);
    if (next) await env.EMBED_QUEUE.send({ assetId: row.id, uid } satisfies EmbedMessage);
  } else if (stage === "processing" && note) {
    next = await transition(lc, row.id, "failed", "uploaded", retried);
    if (next) await env.UPLOADS_QUEUE.send(note);
  } else {
    // The original never arrived (or is gone): back to pending; resuming the same bytes
    // through POST /api/uploads gives a fresh URL for the same asset.
    next = await transition(lc, row.id, "failed", "pending", { ...retried, expiresAt: Date.now() });
    if (next && note) await env.UPLOADS_QUEUE.send(note);
    else outcome = "reupload";
  }
  if (!next) return "skipped";
  return outcome;
}

/**
 * Removes everything of an asset: its R2 objects (original and variants), its vectors
 * (Vectorize or D1), then its rows: search features, the FTS document (a trigger drops
 * it from the index), the asset, and other photos' `nearDuplicateOf` pointing at it.
 * The row is a `deleting` tombstone meanwhile, so a stage that finishes late sees it
 * and cleans up after itself; the sweeper finishes deletes that were interrupted.
 */
export async function purgeAsset(
  env: Env,
  uid: string,
  assetId: string,
  batchId: string,
  version: number,
) {
  const prefix = assetPrefix(uid, assetId);
  let cursor: string | undefined;
  do {
    const listed = await env.BUCKET.list({ prefix, cursor });
    if (listed.objects.length > 0) await env.BUCKET.delete(listed.objects.map((o) => o.key));
    cursor = listed.truncated ? listed.cursor : undefined;
  } while (cursor);
  await deleteVectors(env, uid, [assetId]);
  const { store, hub } = lifecycleFor(env, uid);
  const d = store.db;
  // Photos that pointed at this one change too: a write like any other (versioned, one
  // event each).
  const [, , , unpointed, deleted] = await d.batch([
    d.delete(batchItems).where(and(eq(batchItems.assetId, assetId), eq(batchItems.userId, uid))),
    d
      .delete(assetFeatures)
      .where(and(eq(assetFeatures.assetId, assetId), eq(assetFeatures.userId, uid))),
    d.delete(searchDocs).where(and(eq(searchDocs.assetId, assetId), eq(searchDocs.userId, uid))),
    d
      .update(assets)
      .set(versioned({ nearDuplicateOf: null }))
      .where(and(eq(assets.userId, uid), eq(assets.nearDuplicateOf, assetId)))
      .returning(eventColumns),
    d
      .delete(assets)
      .where(and(eq(assets.id, assetId), eq(assets.userId, uid), eq(assets.status, "deleting")))
      .returning({ id: assets.id }),
  ]);
  await publishSafely(hub, [
    ...unpointed.map(assetEvent),
    ...(deleted.length > 0 ? [deletedEvent({ id: assetId, batchId, version })] : []),
  ]);
}
