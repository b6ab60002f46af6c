import {
  ClaimHeld,
  type EmbedMessage,
  failure,
  hubPublisher,
  lifecycleTimings,
  originalKey,
  PROCESSING_LEASE_MS,
  publishSafely,
  statusStamps,
  type TransitionResult,
  transition,
  transitionColumns,
  variantKey,
  writeLatency,
} from "@darkroom/shared";
import { assets } from "@darkroom/shared/db";
import { and, eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { ImageError } from "./image/errors";
import { type Budget, DEFAULT_BUDGET, processImage } from "./image/pipeline";

export { PROCESSING_LEASE_MS };

// One image at a time per isolate: concurrent invocations share its 128 MB.
let lane: Promise<unknown> = Promise.resolve();
function oneAtATime<T>(work: () => Promise<T>): Promise<T> {
  const run = lane.then(work, work);
  lane = run.catch(() => undefined);
  return run;
}

function budgetOf(env: Env): Budget {
  const mb = Number(env.PROCESSOR_MEMORY_BUDGET_MB);
  const mp = Number(env.PROCESSOR_MAX_MEGAPIXELS);
  return {
    memoryBytes: Number.isFinite(mb) && mb > 0 ? mb * 1024 * 1024 : DEFAULT_BUDGET.memoryBytes,
    maxPixels: Number.isFinite(mp) && mp > 0 ? mp * 1e6 : DEFAULT_BUDGET.maxPixels,
  };
}

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
        ...statusStamps("failed", Date.now()),
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
        ...statusStamps("uploaded", Date.now()),
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
    const object = await env.BUCKET.get(originalKey(uid, assetId));
    if (!object)
      return await fail(
        "original_missing",
        "The original is no longer in storage; upload it again",
      );
    if (object.size !== row.size) {
      return await fail(
        "size_mismatch",
        `The original is ${object.size} bytes; ${row.size} were declared`,
      );
    }
    const bytes = new Uint8Array(await object.arrayBuffer());
    let result: Awaited<ReturnType<typeof processImage>>;
    try {
      result = await oneAtATime(() =>
        processImage(bytes, { budget: budgetOf(env), images: env.IMAGES }),
      );
    } catch (err) {
      if (err instanceof ImageError) return await fail(err.code, err.message);
      throw err;
    }
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
        ...statusStamps("processed", Date.now()),
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
    if (row.uploadedAt !== null) {
      writeLatency(env.METRICS, {
        series: "uploaded_to_processed",
        ms: Date.now() - row.uploadedAt,
      });
    }
    return "processed";
  } catch (err) {
    await release().catch(() => undefined);
    throw err;
  }
}
