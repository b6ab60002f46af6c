import {
  ClaimHeld,
  type EmbedMessage,
  failure,
  hubPublisher,
  lifecycleTimings,
  originalKey,
  PROCESSING_LEASE_MS,
  publishSafely,
  type TransitionResult,
  transition,
  transitionColumns,
  variantKey,
} from "@darkroom/shared";
import { assets } from "@darkroom/shared/db";
import { and, eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { processOriginal } from "./process-original";

export { PROCESSING_LEASE_MS };

/**
 * The processing stage of one asset, exactly once in effect on at-least-once delivery:
 * claim `uploaded → processing` with a claim time; a live claim of another consumer is
 * retried later, a claim older than the lease is taken over; the final UPDATE applies
 * only while our claim stands, and when the row is gone or `deleting` what was written
 * is removed. An asset already processed gets its `embed` message again.
 */
export async function processStage(env: Env, assetId: string, uid: string): Promise<string> {
  const db = drizzle(env.DB);
  const publish = (t: TransitionResult) =>
    publishSafely(hubPublisher(env.USER_HUB, uid), [
      { assetId: t.id, batchId: t.batchId, status: t.status, version: t.version, error: t.error },
    ]);
  const [row] = await db.select().from(assets).where(eq(assets.id, assetId));
  if (!row || row.userId !== uid) return "gone";

  const now = Date.now();
  let claim: TransitionResult | null = null;
  if (row.status === "uploaded") {
    claim = await transition(db, assetId, "uploaded", "processing", {
      claimedAt: now,
      attempts: sql`${assets.attempts} + 1`,
    });
  } else if (row.status === "processing") {
    // This deployment's lease (PROCESSING_LEASE_SECONDS), 2 minutes unless configured.
    const lease = lifecycleTimings(env).processingLeaseMs;
    const since = row.claimedAt ?? 0;
    if (since > now - lease) {
      throw new ClaimHeld(Math.max(1, Math.ceil((since + lease - now) / 1000)));
    }
    // Take over a dead claim, only if nobody else did first.
    const [taken] = await db
      .update(assets)
      .set({
        claimedAt: now,
        version: sql`${assets.version} + 1`,
        attempts: sql`${assets.attempts} + 1`,
        updatedAt: now,
      })
      .where(
        and(eq(assets.id, assetId), eq(assets.status, "processing"), eq(assets.claimedAt, since)),
      )
      .returning(transitionColumns);
    claim = taken ? { ...taken, error: null } : null;
  } else if (row.status === "processed") {
    await env.EMBED_QUEUE.send({ assetId, uid } satisfies EmbedMessage);
    return "embed-resent";
  } else {
    return "already-past";
  }
  if (!claim) return "claim-lost";
  await publish(claim);
  const claimedAt = now;
  const ours = and(
    eq(assets.id, assetId),
    eq(assets.status, "processing"),
    eq(assets.claimedAt, claimedAt),
  );

  const fail = async (code: string, message: string) => {
    const [t] = await db
      .update(assets)
      .set({
        status: "failed",
        error: failure("processing", code, message),
        claimedAt: null,
        version: sql`${assets.version} + 1`,
        updatedAt: Date.now(),
      })
      .where(ours)
      .returning(transitionColumns);
    if (t) await publish({ ...t, error: { stage: "processing", code, message } });
    return `failed:${code}`;
  };
  // A transient failure hands the asset back so the retry (or the sweeper) can claim it.
  const release = () =>
    db
      .update(assets)
      .set({
        status: "uploaded",
        claimedAt: null,
        version: sql`${assets.version} + 1`,
        updatedAt: Date.now(),
      })
      .where(ours);

  const keys = {
    thumb: variantKey(uid, assetId, "thumb"),
    preview: variantKey(uid, assetId, "preview"),
  };
  try {
    const read = await processOriginal(env, originalKey(uid, assetId), row.size);
    if (read.kind === "missing")
      return await fail(
        "original_missing",
        "The original is no longer in storage; upload it again",
      );
    if (read.kind === "size_mismatch") {
      return await fail(
        "size_mismatch",
        `The original is ${read.size} bytes; ${row.size} were declared`,
      );
    }
    if (read.kind === "refused") return await fail(read.error.code, read.error.message);
    const result = read.result;
    const put = { httpMetadata: { contentType: "image/webp" } };
    await env.BUCKET.put(keys.thumb, result.thumb.bytes, put);
    await env.BUCKET.put(keys.preview, result.preview.bytes, put);
    const variants = {
      thumb: {
        width: result.thumb.width,
        height: result.thumb.height,
        bytes: result.thumb.bytes.byteLength,
      },
      preview: {
        width: result.preview.width,
        height: result.preview.height,
        bytes: result.preview.bytes.byteLength,
      },
    };
    const [done] = await db
      .update(assets)
      .set({
        status: "processed",
        claimedAt: null,
        version: sql`${assets.version} + 1`,
        updatedAt: Date.now(),
        width: result.width,
        height: result.height,
        takenAt: result.metadata.takenAt,
        cameraMake: result.metadata.make,
        cameraModel: result.metadata.model,
        variants: JSON.stringify(variants),
        error: null,
      })
      .where(ours)
      .returning(transitionColumns);
    if (!done) {
      const [now] = await db
        .select({ status: assets.status })
        .from(assets)
        .where(eq(assets.id, assetId));
      if (!now || now.status === "deleting") {
        // Deleted while we worked: leave nothing behind.
        await env.BUCKET.delete([keys.thumb, keys.preview]);
        return "deleted-meanwhile";
      }
      // Our claim was taken over; the other consumer writes the same keys.
      return "superseded";
    }
    await env.EMBED_QUEUE.send({ assetId, uid } satisfies EmbedMessage);
    await publish({ ...done, error: null });
    return "processed";
  } catch (err) {
    await release().catch(() => undefined);
    throw err;
  }
}
