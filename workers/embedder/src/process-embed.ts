import {
  type AssetStatus,
  type AssetStore,
  blobToVector,
  type Completion,
  claimStage,
  DESCRIPTOR_DIMENSIONS,
  deadLettered,
  deleteVectors,
  embedMessageSchema,
  exifWords,
  lifecycleFor,
  lifecycleTimings,
  NEAR_DUPLICATE_MAX_DISTANCE,
  ownedAsset,
  PermanentFailure,
  pipelineStage,
  runClaimed,
  type StageResult,
  type StageSpec,
  send,
  stageSpec,
  upsertSearchDoc,
  variantKey,
  vectorIndex,
  vectorToBlob,
  writeLatency,
} from "@darkroom/shared";
import { assetFeatures, type assets, searchDocs } from "@darkroom/shared/db";
import { and, eq } from "drizzle-orm";
import { z } from "zod";
import { decodeThumb, UndecodableThumb } from "./decode-thumb";
import { describePhoto } from "./describe-photo";
import { colourNames, cosine, DESCRIPTOR_VERSION, visualDescriptor } from "./descriptor";
import { hammingDistance, perceptualHash } from "./phash";

type Row = typeof assets.$inferSelect;

/**
 * Below this descriptor cosine two photos are never near-duplicates, whatever their
 * hashes: a flat image's hash is all noise, and two plain walls of different colours
 * must not match. Copies score above 0.95; greyscale copies still above 0.75.
 */
export const NEAR_DUPLICATE_MIN_COSINE = 0.7;
/** Nearest descriptors examined as near-duplicate candidates. */
const NEAR_DUPLICATE_CANDIDATES = 20;

/** The embedding stage in the lifecycle: `processed → embedding → ready`. */
export function embeddingSpec(env: Env): StageSpec {
  // This deployment's lease (EMBED_LEASE_SECONDS), 5 minutes unless configured.
  return stageSpec("embedding", lifecycleTimings(env));
}

/** The asset an embed message is about. */
export function assetIdOf(body: unknown): string | null {
  const parsed = embedMessageSchema.safeParse(body);
  return parsed.success ? parsed.data.assetId : null;
}

/**
 * One `embed` message: makes a `processed` asset searchable and moves it to `ready`.
 * The shared lifecycle claims it (or takes over a dead claim; a live claim of another
 * consumer throws `ClaimHeld`), and completes, fails or releases it only while the claim
 * holds. A delivery for an asset already `ready` (or gone, failed, deleting, not yet
 * processed) changes nothing and is acked. Throws on transient failures (R2, D1,
 * Vectorize, a 429/5xx from AI): the caller retries with backoff. `clock` is the one the
 * lifecycle reads (a test fixes it, so a claim's age does not depend on the machine's speed).
 */
export async function runEmbedding(
  env: Env,
  body: unknown,
  clock: () => number = Date.now,
): Promise<StageResult> {
  const parsed = embedMessageSchema.safeParse(body);
  if (!parsed.success) {
    console.error("embed: malformed message dropped", JSON.stringify(parsed.error.issues));
    return { assetId: null, outcome: "malformed" };
  }
  const { assetId, uid } = parsed.data;
  const lc = await lifecycleFor(env, uid, clock);
  const row = await ownedAsset(lc, assetId);
  if (!row) return { assetId, outcome: "gone" };
  const now = clock();
  const claim = await claimStage(lc, embeddingSpec(env), row, now);
  if (!claim) return { assetId, outcome: row.status === "ready" ? "already-past" : "not-yet" };
  if ("outcome" in claim) return claim;
  const result = await runClaimed(claim, () => embed(env, lc.store, row, claim.claimedAt, now));
  // `processed_at` does not move while the stage runs (a hand-back keeps it).
  if (result.outcome === "completed" && row.processedAt !== null) {
    writeLatency(env.METRICS, { series: "processed_to_ready", ms: Date.now() - row.processedAt });
  }
  return result;
}

async function embed(
  env: Env,
  store: AssetStore,
  row: Row,
  claimedAt: number,
  now: number,
): Promise<Completion> {
  const uid = store.uid;
  const object = await env.BUCKET.get(variantKey(uid, row.id, "thumb"));
  if (!object) {
    // `processed` promises a thumb: without one, processing has to run again.
    throw new PermanentFailure(
      "processing",
      "thumb_missing",
      "The thumbnail is missing; retry to process the photo again",
    );
  }
  const bytes = new Uint8Array(await object.arrayBuffer());
  let pixels: Awaited<ReturnType<typeof decodeThumb>>;
  try {
    pixels = await decodeThumb(bytes.slice().buffer);
  } catch (err) {
    if (!(err instanceof UndecodableThumb)) throw err;
    throw new PermanentFailure(
      "processing",
      "thumb_undecodable",
      "The thumbnail could not be decoded; retry to process the photo again",
    );
  }
  const descriptor = visualDescriptor(pixels);
  const phash = perceptualHash(pixels);

  // Never fails the photo: without AI it is found by its words and its look (the
  // reason is kept); only a transient AI failure throws, for a retry.
  const ai = await describePhoto(env, row.id, bytes);

  const nearDuplicateOf = await findNearDuplicate(env, store, row, phash, descriptor, now);
  const labels = [...ai.labels, ...colourNames(descriptor)];
  const caption = ai.caption;

  await vectorIndex(env, store, "descriptor").upsert(uid, row.id, descriptor);
  if (ai.text) await vectorIndex(env, store, "text").upsert(uid, row.id, ai.text);
  await store.d1.batch([
    store.d1
      .prepare(
        `INSERT INTO asset_features (asset_id, user_id, phash, descriptor, descriptor_version, created_at)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (asset_id) DO UPDATE SET phash = excluded.phash, descriptor = excluded.descriptor,
         descriptor_version = excluded.descriptor_version, created_at = excluded.created_at
       WHERE asset_features.user_id = excluded.user_id`,
      )
      .bind(row.id, uid, phash, vectorToBlob(descriptor), DESCRIPTOR_VERSION, claimedAt),
    upsertSearchDoc(store.d1, {
      assetId: row.id,
      uid,
      name: row.name,
      exif: exifWords(row.cameraMake, row.cameraModel, row.takenAt),
      labels,
      caption: caption ?? "",
    }),
  ]);

  return {
    set: {
      labels: JSON.stringify(labels),
      caption,
      captionSkipped: ai.captionSkipped ? JSON.stringify(ai.captionSkipped) : null,
      redescribeAt: ai.redescribe ? now : null,
      nearDuplicateOf,
    },
    // Deleted while we worked: what we just wrote must not outlive the asset. (Superseded:
    // the consumer that took over, or the dead-letter handler, has the last word.)
    cleanup: () => removeSearchData(env, store, row.id),
  };
}

/** Everything the embedder writes for an asset: vectors, features, the FTS document. */
export async function removeSearchData(
  env: Env,
  store: AssetStore,
  assetId: string,
): Promise<void> {
  await deleteVectors(env, store, [assetId]);
  const { db, uid } = store;
  await db.batch([
    db
      .delete(assetFeatures)
      .where(and(eq(assetFeatures.assetId, assetId), eq(assetFeatures.userId, uid))),
    db.delete(searchDocs).where(and(eq(searchDocs.assetId, assetId), eq(searchDocs.userId, uid))),
  ]);
}

const candidateSchema = z.object({
  asset_id: z.string(),
  phash: z.string().regex(/^[0-9a-f]{16}$/),
  near_duplicate_of: z.string().nullable(),
  created_at: z.number(),
});
const descriptorRowSchema = z.object({ asset_id: z.string(), descriptor: z.unknown() });

/**
 * The user's photo this one is a near-duplicate of (docs/search.md): perceptual hashes
 * at most NEAR_DUPLICATE_MAX_DISTANCE bits apart, and descriptors not unlike; the
 * closest hash wins, then the oldest photo. Candidates are the nearest descriptors in
 * the index plus, when the index shows inserts late (Vectorize), every photo of the
 * user embedded within that lag, so copies dropped in the same batch still find each
 * other. A photo never points at one that already points back at it.
 */
async function findNearDuplicate(
  env: Env,
  store: AssetStore,
  row: Row,
  phash: string,
  descriptor: Float32Array,
  now: number,
): Promise<string | null> {
  const index = vectorIndex(env, store, "descriptor");
  const nearest = (await index.query(row.userId, descriptor, NEAR_DUPLICATE_CANDIDATES + 1))
    .map((m) => m.assetId)
    .filter((id) => id !== row.id);
  // The candidates: the index's nearest, and (where the index shows inserts late) every
  // descriptor written within its lag. One compound subquery, each part on its own index:
  // written as `f.asset_id IN (…) OR f.created_at >= ?` beside the user's filters, SQLite
  // walked the user's whole library for every photo embedded (407 ms at 200,000 photos).
  // The filters beside it are `+`-prefixed so no index on them is preferred to the key.
  const sources: string[] = [];
  const params: unknown[] = [];
  if (nearest.length > 0) {
    sources.push(
      `SELECT asset_id FROM asset_features WHERE asset_id IN (${nearest.map(() => "?").join(", ")})`,
    );
    params.push(...nearest);
  }
  if (index.visibilityLagMs > 0) {
    sources.push("SELECT asset_id FROM asset_features WHERE user_id = ? AND created_at >= ?");
    params.push(row.userId, now - index.visibilityLagMs);
  }
  if (sources.length === 0) return null;
  params.push(row.userId, row.userId, row.id);
  const statuses: AssetStatus[] = ["embedding", "ready"];
  const { results } = await store.d1
    .prepare(
      `SELECT f.asset_id, f.phash, a.near_duplicate_of, a.created_at
     FROM asset_features AS f JOIN assets AS a ON a.id = f.asset_id
     WHERE f.asset_id IN (${sources.join(" UNION ")})
       AND +f.user_id = ? AND +a.user_id = ? AND f.asset_id != ?
       AND +a.status IN (${statuses.map((s) => `'${s}'`).join(", ")})
     LIMIT 5000`,
    )
    .bind(...params)
    .all();
  const close = results
    .flatMap((r) => {
      const c = candidateSchema.safeParse(r);
      if (!c.success || c.data.near_duplicate_of === row.id) return [];
      const distance = hammingDistance(phash, c.data.phash);
      return distance <= NEAR_DUPLICATE_MAX_DISTANCE ? [{ ...c.data, distance }] : [];
    })
    .sort(
      (a, b) =>
        a.distance - b.distance ||
        a.created_at - b.created_at ||
        a.asset_id.localeCompare(b.asset_id),
    )
    .slice(0, 20);
  if (close.length === 0) return null;
  const { results: descriptors } = await store.d1
    .prepare(
      `SELECT asset_id, descriptor FROM asset_features
     WHERE user_id = ? AND asset_id IN (${close.map(() => "?").join(", ")})`,
    )
    .bind(row.userId, ...close.map((c) => c.asset_id))
    .all();
  const byId = new Map<string, Float32Array>();
  for (const r of descriptors) {
    const d = descriptorRowSchema.safeParse(r);
    const vector = d.success ? blobToVector(d.data.descriptor, DESCRIPTOR_DIMENSIONS) : null;
    if (d.success && vector) byId.set(d.data.asset_id, vector);
  }
  for (const c of close) {
    const other = byId.get(c.asset_id);
    if (other && cosine(descriptor, other) >= NEAR_DUPLICATE_MIN_COSINE) return c.asset_id;
  }
  return null;
}

/**
 * An embed message that exhausted its retries: sent again later while its failures were
 * transient and the re-drive budget lasts (`deadLettered`), else the asset fails at stage
 * `embedding`.
 */
export async function processDeadLetter(
  env: Env,
  body: unknown,
  now: () => number = Date.now,
): Promise<StageResult> {
  const parsed = embedMessageSchema.safeParse(body);
  if (!parsed.success) {
    console.error("embed-dlq: malformed message dropped", JSON.stringify(body));
    return { assetId: null, outcome: "malformed" };
  }
  const lc = await lifecycleFor(env, parsed.data.uid, now);
  const row = await ownedAsset(lc, parsed.data.assetId);
  if (!row) return { assetId: parsed.data.assetId, outcome: "gone" };
  const err = new PermanentFailure(
    "embedding",
    "retries_exhausted",
    "Making this photo searchable kept failing; retry it to try again",
  );
  const spec = embeddingSpec(env);
  return deadLettered(lc, spec, row, [spec.from], ["processed", "embedding"], err, (delaySeconds) =>
    send(env, pipelineStage("embedding"), parsed.data, delaySeconds),
  );
}
