import { deleteVectors, type SearchBindings, vectorizeOf } from "../search/vector-index";
import { vectorKinds } from "../search/vector-types";
import { OWNER_PROPERTY } from "../search/vectorize-vector-index";

// Production's vectors move with their user (DESIGN.md, "Sharding: moving a user"): one
// Vectorize index per kind per shard, so the move reads the user's vectors from the
// source shard's indexes by id and upserts them into the target's. Locally (no Vectorize
// bound) the vectors are the shard's `asset_vectors` rows and move with the tables.
//
// Vectorize API (https://developers.cloudflare.com/vectorize/reference/client-api/):
// `getByIds(ids)` returns the stored vectors, values and metadata included; `upsert`
// replaces a vector with the same id in full; both mutations are asynchronous ("it
// typically takes a few seconds for upserted vectors to be available"). At most 1,000
// vectors per upsert from a Worker (https://developers.cloudflare.com/vectorize/platform/limits/).
// No per-call limit of getByIds is documented: 20 ids a call, topK's ceiling with values.

/** Ids per `getByIds` call (not a documented limit: the smallest related one, topK with values). */
export const GET_BY_IDS_CHUNK = 20;
/** Vectors per `upsert` from a Worker (Vectorize limits: "Maximum upsert batch size 1000 (Workers)"). */
export const UPSERT_CHUNK = 1000;

function chunked<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The user's asset ids in `db` (every asset may have vectors of either kind). */
export async function userAssetIds(db: D1Database, uid: string): Promise<string[]> {
  const { results } = await db
    .prepare("SELECT id FROM assets WHERE user_id = ?")
    .bind(uid)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

/**
 * Copies the user's Vectorize vectors of every kind from shard `source`'s index to shard
 * `target`'s, where both are bound. A descriptor vector the source does not return yet
 * (upserted seconds before the hold and not applied) is rebuilt from `asset_features`,
 * which D1 keeps for every embedded asset; a text vector has no such copy (it comes from
 * Workers AI) and is counted in `missing`. Returns the vectors upserted and missing.
 */
export async function copyVectors(
  env: SearchBindings,
  uid: string,
  ids: readonly string[],
  shards: { source: number; target: number; targetDb: D1Database },
): Promise<{ copied: number; missing: number }> {
  let copied = 0;
  let missing = 0;
  for (const kind of vectorKinds) {
    const from = vectorizeOf(env, kind, shards.source);
    const to = vectorizeOf(env, kind, shards.target);
    if (!from || !to) continue;
    const found: VectorizeVector[] = [];
    for (const part of chunked(ids, GET_BY_IDS_CHUNK)) found.push(...(await from.getByIds(part)));
    if (kind === "descriptor") {
      const seen = new Set(found.map((v) => v.id));
      found.push(...(await descriptorsFromFeatures(shards.targetDb, uid, seen)));
    } else {
      missing += await textWithoutVector(shards.targetDb, uid, found.length);
    }
    const vectors = found.map((v) => ({
      id: v.id,
      values: Array.from(v.values),
      metadata: { ...v.metadata, [OWNER_PROPERTY]: uid },
    }));
    for (const part of chunked(vectors, UPSERT_CHUNK)) await to.upsert(part);
    copied += vectors.length;
  }
  return { copied, missing };
}

/** Descriptor vectors of the user's embedded assets not in `seen`, from their D1 features. */
async function descriptorsFromFeatures(
  db: D1Database,
  uid: string,
  seen: ReadonlySet<string>,
): Promise<VectorizeVector[]> {
  const { results } = await db
    .prepare("SELECT asset_id AS id, descriptor FROM asset_features WHERE user_id = ?")
    .bind(uid)
    .all<{ id: string; descriptor: number[] | ArrayBuffer }>();
  return results
    .filter((r) => !seen.has(r.id))
    .map((r) => {
      const bytes =
        r.descriptor instanceof ArrayBuffer ? r.descriptor : new Uint8Array(r.descriptor).buffer;
      return { id: r.id, values: Array.from(new Float32Array(bytes)) };
    });
}

/** Ready assets with a caption or labels beyond the text vectors found (a floor, never negative). */
async function textWithoutVector(db: D1Database, uid: string, found: number): Promise<number> {
  const row = await db
    .prepare(
      "SELECT COUNT(*) AS n FROM assets WHERE user_id = ? AND status = 'ready' AND (caption IS NOT NULL OR labels IS NOT NULL)",
    )
    .bind(uid)
    .first<{ n: number }>();
  return Math.max(0, (row?.n ?? 0) - found);
}

/** Removes the user's vectors from shard `shard`'s indexes (after the flip, or an abandoned copy). */
export async function dropVectors(
  env: SearchBindings,
  uid: string,
  ids: readonly string[],
  home: { shard: number; d1: D1Database },
): Promise<void> {
  await deleteVectors(env, { ...home, uid }, ids);
}
