import {
  type AssetStore,
  assetEvent,
  assetPrefix,
  deletedEvent,
  deleteVectors,
  eventColumns,
  lifecycleOn,
  publishSafely,
  versioned,
} from "@darkroom/shared";
import { assetFeatures, assets, batchItems, searchDocs } from "@darkroom/shared/db";
import { and, eq } from "drizzle-orm";

/**
 * Removes everything of an asset: its R2 objects (original and variants), its vectors
 * (Vectorize or D1), then its rows: search features, the FTS document (a trigger drops
 * it from the index), the asset, and other photos' `nearDuplicateOf` pointing at it.
 * The row is a `deleting` tombstone meanwhile, so a stage that finishes late sees it
 * and cleans up after itself; the sweeper finishes deletes that were interrupted.
 */
export async function purgeAsset(
  env: Env,
  store: AssetStore,
  assetId: string,
  batchId: string,
  version: number,
) {
  const { uid } = store;
  const prefix = assetPrefix(uid, assetId);
  let cursor: string | undefined;
  do {
    const listed = await env.BUCKET.list({ prefix, cursor });
    if (listed.objects.length > 0) await env.BUCKET.delete(listed.objects.map((o) => o.key));
    cursor = listed.truncated ? listed.cursor : undefined;
  } while (cursor);
  await deleteVectors(env, store, [assetId]);
  const { hub } = lifecycleOn(env, store);
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
