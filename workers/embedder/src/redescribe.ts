import {
  blobToVector,
  DESCRIPTOR_DIMENSIONS,
  exifWords,
  lifecycleFor,
  outcome,
  ownedAsset,
  REDESCRIBE,
  redescribeMessageSchema,
  runTouch,
  type StageResult,
  upsertSearchDoc,
  variantKey,
  vectorIndex,
} from "@darkroom/shared";
import { assetFeatures } from "@darkroom/shared/db";
import { and, eq } from "drizzle-orm";
import { describePhoto } from "./describe-photo";
import { colourNames } from "./descriptor";
import { removeSearchData } from "./process-embed";

/** Is this queue message a re-describe (rather than an `embed`)? */
export function isRedescribe(body: unknown): boolean {
  return redescribeMessageSchema.safeParse(body).success;
}

/**
 * A `ready` photo that skipped AI, described again: the pipeline's `REDESCRIBE` touch
 * (the sweeper sends these once the AI breaker is closed). The asset stays `ready`: its caption, labels,
 * full-text document and text vector are rewritten, `captionSkipped` says what is still
 * missing, and the mark is cleared unless the skip may pass again. A transient AI
 * failure throws (retry with backoff); an open breaker leaves the mark for a later run.
 */
export async function redescribe(env: Env, body: unknown): Promise<StageResult> {
  const parsed = redescribeMessageSchema.safeParse(body);
  if (!parsed.success) return outcome(null, "malformed");
  const { assetId, uid } = parsed.data;
  const lc = await lifecycleFor(env, uid);
  const db = lc.store.db;
  const row = await ownedAsset(lc, assetId);
  if (!row) return outcome(assetId, "gone");
  // Nothing to redo, or no thumb to describe (it comes back with a reprocess).
  if (row.status !== REDESCRIBE.status || row.redescribeAt === null) {
    return outcome(assetId, "already-past");
  }
  const object = await env.BUCKET.get(variantKey(uid, row.id, "thumb"));
  if (!object) return outcome(assetId, "not-yet");

  const ai = await describePhoto(env, row.id, new Uint8Array(await object.arrayBuffer()));
  // Paused: the mark stays for a later run.
  if (ai.captionSkipped?.code === "ai_paused") return outcome(assetId, "not-yet");

  const [features] = await db
    .select({ descriptor: assetFeatures.descriptor })
    .from(assetFeatures)
    .where(and(eq(assetFeatures.assetId, row.id), eq(assetFeatures.userId, uid)));
  const descriptor = features ? blobToVector(features.descriptor, DESCRIPTOR_DIMENSIONS) : null;
  const labels = [...ai.labels, ...(descriptor ? colourNames(descriptor) : [])];

  // Same status, new version (one event): open pages refetch the asset and show its
  // caption. Deleted while we worked: what we just wrote must not outlive the asset.
  const result = await runTouch(lc, REDESCRIBE, row.id, async () => {
    // The descriptor is written again too: it costs nothing, and it is how vectors written
    // before the `uid` metadata index existed get into it (docs/operations.md, Vectorize).
    if (descriptor) await vectorIndex(env, lc.store, "descriptor").upsert(uid, row.id, descriptor);
    if (ai.text) await vectorIndex(env, lc.store, "text").upsert(uid, row.id, ai.text);
    return {
      set: {
        caption: ai.caption,
        captionSkipped: ai.captionSkipped ? JSON.stringify(ai.captionSkipped) : null,
        labels: JSON.stringify(labels),
        // Still worth another try: the mark stays (the sweeper set its next time).
        redescribeAt: ai.redescribe ? row.redescribeAt : null,
      },
      cleanup: () => removeSearchData(env, lc.store, row.id),
    };
  });
  if (result.outcome !== "completed") return result;
  await lc.store.d1.batch([
    upsertSearchDoc(lc.store.d1, {
      assetId: row.id,
      uid,
      name: row.name,
      exif: exifWords(row.cameraMake, row.cameraModel, row.takenAt),
      labels,
      caption: ai.caption ?? "",
    }),
  ]);
  return outcome(assetId, "completed");
}
