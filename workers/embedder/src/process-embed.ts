import {
  type AssetStatus,
  blobToVector,
  ClaimHeld,
  classifyAiError,
  DESCRIPTOR_DIMENSIONS,
  deleteVectors,
  embedMessageSchema,
  exifWords,
  type FailureStage,
  failure,
  hubPublisher,
  lifecycleTimings,
  NEAR_DUPLICATE_MAX_DISTANCE,
  noLiveClaim,
  publishSafely,
  transition,
  upsertSearchDoc,
  variantKey,
  vectorIndex,
  vectorToBlob,
  writeLatency,
} from "@darkroom/shared";
import { assetFeatures, assets, searchDocs } from "@darkroom/shared/db";
import { and, eq, isNull } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import { decodeThumb, UndecodableThumb } from "./decode-thumb";
import { type AiDescription, describeWithAi } from "./describe-with-ai";
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

function hub(env: Env, uid: string) {
  return hubPublisher(env.USER_HUB, uid);
}

/** A failure that no retry of this message can fix: the asset fails with a reason. */
class PermanentFailure extends Error {
  constructor(
    readonly stage: FailureStage,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * One `embed` message: makes a `processed` asset searchable and moves it to `ready`.
 * Idempotent like the processor: a delivery for an asset already `ready` (or gone,
 * failed, deleting, not yet processed) changes nothing and is acked; a live claim of
 * another consumer throws `ClaimHeld`; a claim older than the lease is taken over.
 * Throws on transient failures (R2, D1, Vectorize, a 429/5xx from AI): the caller
 * retries with backoff, and the claim is released so the retry can start at once.
 */
export async function processMessage(env: Env, body: unknown, now = Date.now()): Promise<string> {
  const parsed = embedMessageSchema.safeParse(body);
  if (!parsed.success) {
    console.error("embed: malformed message dropped", JSON.stringify(parsed.error.issues));
    return "malformed";
  }
  const { assetId, uid } = parsed.data;
  const db = drizzle(env.DB);
  const [row] = await db.select().from(assets).where(eq(assets.id, assetId));
  if (!row || row.userId !== uid) return "gone";

  const claimedAt = await claim(env, row, now);
  if (typeof claimedAt === "string") return claimedAt;

  try {
    return await embed(env, row, claimedAt, now);
  } catch (err) {
    if (err instanceof PermanentFailure) return fail(env, row, err);
    // Let the retry take over at once instead of waiting out our own lease.
    await db
      .update(assets)
      .set({ claimedAt: null })
      .where(
        and(eq(assets.id, row.id), eq(assets.status, "embedding"), eq(assets.claimedAt, claimedAt)),
      );
    throw err;
  }
}

/**
 * Claims the asset for this delivery: `processed → embedding`, or takes over an
 * `embedding` claim older than the lease. Returns the claim time, or the reason the
 * message is done without work.
 */
async function claim(env: Env, row: Row, now: number): Promise<number | string> {
  const db = drizzle(env.DB);
  if (row.status === "ready") return "already-ready";
  if (row.status === "processed") {
    const t = await transition(db, row.id, "processed", "embedding", {
      claimedAt: now,
      attempts: row.attempts + 1,
    });
    if (!t) return claimAfterRace(env, row.id, now);
    await publishSafely(hub(env, row.userId), [
      { assetId: t.id, batchId: t.batchId, status: t.status, version: t.version },
    ]);
    return now;
  }
  if (row.status !== "embedding") return "not-processed";
  // This deployment's lease (EMBED_LEASE_SECONDS), 5 minutes unless configured.
  const lease = lifecycleTimings(env).embedLeaseMs;
  if (row.claimedAt !== null && now - row.claimedAt < lease) {
    throw new ClaimHeld(Math.max(1, Math.ceil((row.claimedAt + lease - now) / 1000)));
  }
  // Take over a dead claim: conditional on the claim we saw, so one taker wins. Not a
  // status change (no version bump, no event): the asset stays `embedding`.
  const taken = await db
    .update(assets)
    .set({ claimedAt: now, attempts: row.attempts + 1, updatedAt: now })
    .where(
      and(
        eq(assets.id, row.id),
        eq(assets.status, "embedding"),
        row.claimedAt === null ? isNull(assets.claimedAt) : eq(assets.claimedAt, row.claimedAt),
      ),
    )
    .returning({ id: assets.id });
  if (taken.length === 0) return claimAfterRace(env, row.id, now);
  return now;
}

/** Someone else changed the row between our read and our claim: decide on the fresh row. */
async function claimAfterRace(env: Env, assetId: string, now: number): Promise<string> {
  const [fresh] = await drizzle(env.DB).select().from(assets).where(eq(assets.id, assetId));
  if (!fresh) return "gone";
  if (fresh.status === "embedding" && fresh.claimedAt !== null) {
    const lease = lifecycleTimings(env).embedLeaseMs;
    throw new ClaimHeld(Math.max(1, Math.ceil((fresh.claimedAt + lease - now) / 1000)));
  }
  return fresh.status === "ready" ? "already-ready" : "not-processed";
}

async function embed(env: Env, row: Row, claimedAt: number, now: number): Promise<string> {
  const uid = row.userId;
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

  let ai: AiDescription | null = null;
  if (env.AI) {
    try {
      ai = await describeWithAi(env.AI, bytes);
    } catch (err) {
      const kind = classifyAiError(err);
      if (kind.kind === "transient") throw err;
      console.error("embed: AI refused the photo", { assetId: row.id, err: String(err) });
      throw new PermanentFailure(
        "embedding",
        kind.kind === "rejected-input" ? "ai_rejected_image" : "ai_not_allowed",
        kind.kind === "rejected-input"
          ? "The AI models could not read this photo"
          : "The AI models refused the request; check the account and retry",
      );
    }
  }

  const nearDuplicateOf = await findNearDuplicate(env, row, phash, descriptor, now);
  const labels = [...(ai?.labels ?? []), ...colourNames(descriptor)];
  const caption = ai?.caption ?? null;

  await vectorIndex(env, "descriptor").upsert(uid, row.id, descriptor);
  if (ai) await vectorIndex(env, "text").upsert(uid, row.id, ai.text);
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO asset_features (asset_id, user_id, phash, descriptor, descriptor_version, created_at)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (asset_id) DO UPDATE SET phash = excluded.phash, descriptor = excluded.descriptor,
         descriptor_version = excluded.descriptor_version, created_at = excluded.created_at
       WHERE asset_features.user_id = excluded.user_id`,
    ).bind(row.id, uid, phash, vectorToBlob(descriptor), DESCRIPTOR_VERSION, claimedAt),
    upsertSearchDoc(env.DB, {
      assetId: row.id,
      uid,
      name: row.name,
      exif: exifWords(row.cameraMake, row.cameraModel, row.takenAt),
      labels,
      caption: caption ?? "",
    }),
  ]);

  const db = drizzle(env.DB);
  const t = await transition(db, row.id, "embedding", "ready", {
    claimedAt: null,
    labels: JSON.stringify(labels),
    caption,
    nearDuplicateOf,
  });
  if (!t) {
    const [current] = await db
      .select({ status: assets.status })
      .from(assets)
      .where(eq(assets.id, row.id));
    if (!current || current.status === "deleting") {
      // Deleted while we worked: what we just wrote must not outlive the asset.
      await removeSearchData(env, uid, row.id);
      return "deleted-meanwhile";
    }
    // Finished by a consumer that took over our claim, or failed by the dead-letter
    // handler: their state stands (a retry rewrites the same rows).
    return current.status === "ready" ? "already-ready" : "superseded";
  }
  await publishSafely(hub(env, uid), [
    { assetId: t.id, batchId: t.batchId, status: t.status, version: t.version },
  ]);
  if (row.processedAt !== null) {
    writeLatency(env.METRICS, { series: "processed_to_ready", ms: Date.now() - row.processedAt });
  }
  return "ready";
}

/** Everything the embedder writes for an asset: vectors, features, the FTS document. */
export async function removeSearchData(env: Env, uid: string, assetId: string): Promise<void> {
  await deleteVectors(env, uid, [assetId]);
  const db = drizzle(env.DB);
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
  row: Row,
  phash: string,
  descriptor: Float32Array,
  now: number,
): Promise<string | null> {
  const index = vectorIndex(env, "descriptor");
  const nearest = (await index.query(row.userId, descriptor, NEAR_DUPLICATE_CANDIDATES + 1))
    .map((m) => m.assetId)
    .filter((id) => id !== row.id);
  const clauses = [];
  const params: unknown[] = [row.userId, row.userId, row.id];
  if (nearest.length > 0) {
    clauses.push(`f.asset_id IN (${nearest.map(() => "?").join(", ")})`);
    params.push(...nearest);
  }
  if (index.visibilityLagMs > 0) {
    clauses.push("f.created_at >= ?");
    params.push(now - index.visibilityLagMs);
  }
  if (clauses.length === 0) return null;
  const statuses: AssetStatus[] = ["embedding", "ready"];
  const { results } = await env.DB.prepare(
    `SELECT f.asset_id, f.phash, a.near_duplicate_of, a.created_at
     FROM asset_features AS f JOIN assets AS a ON a.id = f.asset_id
     WHERE f.user_id = ? AND a.user_id = ? AND f.asset_id != ?
       AND a.status IN (${statuses.map((s) => `'${s}'`).join(", ")})
       AND (${clauses.join(" OR ")})
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
  const { results: descriptors } = await env.DB.prepare(
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

async function fail(env: Env, row: Row, err: PermanentFailure): Promise<string> {
  const t = await transition(drizzle(env.DB), row.id, "embedding", "failed", {
    claimedAt: null,
    error: failure(err.stage, err.code, err.message),
  });
  if (!t) return "superseded";
  await publishSafely(hub(env, row.userId), [
    { assetId: t.id, batchId: t.batchId, status: t.status, version: t.version, error: t.error },
  ]);
  return "failed";
}

/** An embed message that exhausted its retries: the asset fails at stage `embedding`. */
export async function processDeadLetter(env: Env, body: unknown): Promise<string> {
  const parsed = embedMessageSchema.safeParse(body);
  if (!parsed.success) {
    console.error("embed-dlq: malformed message dropped", JSON.stringify(body));
    return "malformed";
  }
  const db = drizzle(env.DB);
  const [row] = await db.select().from(assets).where(eq(assets.id, parsed.data.assetId));
  if (!row || row.userId !== parsed.data.uid) return "gone";
  const t = await transition(
    db,
    row.id,
    ["processed", "embedding"],
    "failed",
    {
      claimedAt: null,
      error: failure(
        "embedding",
        "retries_exhausted",
        "Making this photo searchable kept failing; retry it to try again",
      ),
    },
    noLiveClaim("embedding", lifecycleTimings(env).embedLeaseMs),
  );
  if (!t) return row.status === "embedding" ? "claim-live-or-settled" : "already-settled";
  await publishSafely(hub(env, row.userId), [
    { assetId: t.id, batchId: t.batchId, status: t.status, version: t.version, error: t.error },
  ]);
  return "failed";
}
