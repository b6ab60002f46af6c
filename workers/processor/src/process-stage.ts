import {
  afterCompletion,
  claimStage,
  enqueue,
  type Lifecycle,
  lifecycleFor,
  originalKey,
  ownedAsset,
  PermanentFailure,
  runClaimed,
  type StageResult,
  type StageSpec,
  stageSpec,
  variantKey,
  writeLatency,
} from "@darkroom/shared";
import { processorConfig } from "./config";
import { processOriginal } from "./process-original";

/** The processing stage in the lifecycle: `uploaded → processing → processed`. */
export function processingSpec(env: Env): StageSpec {
  // This deployment's lease (PROCESSING_LEASE_SECONDS), 2 minutes unless configured.
  return stageSpec("processing", processorConfig(env));
}

/** What follows processing (the pipeline table says: the embedding stage). */
const next = afterCompletion("processed");

/**
 * The processing stage of one asset, exactly once in effect on at-least-once delivery:
 * the shared lifecycle claims it (or takes over a dead claim), and completes, fails or
 * releases it only while the claim holds (DESIGN.md, "Asset lifecycle"). An asset already
 * processed gets its `embed` message again. `now` is the clock the lifecycle reads (a test
 * fixes it, so a claim's age does not depend on the machine's speed).
 */
export async function runProcessing(
  env: Env,
  assetId: string,
  uid: string,
  now: () => number = Date.now,
): Promise<StageResult> {
  const lc = await lifecycleFor(env, uid, now);
  const row = await ownedAsset(lc, assetId);
  if (!row) return { assetId, outcome: "gone" };
  if (row.status === "processed" && next) {
    await enqueue(env, next, row);
    return { assetId, outcome: "embed-resent" };
  }
  const claim = await claimStage(lc, processingSpec(env), row);
  if (!claim) return { assetId, outcome: "already-past" };
  if ("outcome" in claim) return claim;
  const result = await runClaimed(claim, () => produceVariants(env, lc, row));
  if (result.outcome === "completed") {
    if (next) await enqueue(env, next, row);
    // `uploaded_at` does not move while the stage runs (a hand-back keeps it).
    if (row.uploadedAt !== null) {
      writeLatency(env.METRICS, {
        series: "uploaded_to_processed",
        ms: Date.now() - row.uploadedAt,
      });
    }
  }
  return result;
}

/** Reads the original, writes the thumb and preview; returns what the row records. */
async function produceVariants(env: Env, lc: Lifecycle, row: { id: string; size: number }) {
  const uid = lc.store.uid;
  const keys = {
    thumb: variantKey(uid, row.id, "thumb"),
    preview: variantKey(uid, row.id, "preview"),
  };
  // The admission lane, the budget and the codec's refusals (process-original.ts).
  const read = await processOriginal(env, originalKey(uid, row.id), row.size);
  if (read.kind === "missing") {
    throw new PermanentFailure(
      "processing",
      "original_missing",
      "The original is no longer in storage; upload it again",
    );
  }
  if (read.kind === "size_mismatch") {
    throw new PermanentFailure(
      "processing",
      "size_mismatch",
      `The original is ${read.size} bytes; ${row.size} were declared`,
    );
  }
  if (read.kind === "refused") {
    throw new PermanentFailure("processing", read.error.code, read.error.message);
  }
  const result = read.result;
  // Damage forgiven as libvips forgives it: worth a line in the log, not a failure.
  if (result.warnings.length > 0)
    console.warn("processing: decoded despite damage", {
      assetId: row.id,
      warnings: result.warnings,
    });
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
    // What the original turned out to be (the bytes decide, not the declared type);
    // kept with the variants it produced: no column of its own needed.
    source: { format: result.format, animated: result.animated },
  };
  return {
    set: {
      width: result.width,
      height: result.height,
      takenAt: result.metadata.takenAt,
      cameraMake: result.metadata.make,
      cameraModel: result.metadata.model,
      variants: JSON.stringify(variants),
    },
    // Deleted while we worked: leave nothing behind. (Superseded: the consumer that took
    // over writes the same keys.)
    cleanup: () => env.BUCKET.delete([keys.thumb, keys.preview]),
  };
}
