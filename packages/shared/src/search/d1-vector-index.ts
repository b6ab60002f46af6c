import { z } from "zod";
import {
  checkVector,
  clampTopK,
  type VectorIndex,
  type VectorKind,
  type VectorMatch,
  vectorDimensions,
} from "./vector-types";

/** D1 returns a BLOB as an array of byte values (or an ArrayBuffer). */
const blobSchema = z.custom<number[] | ArrayBuffer>(
  (v) => v instanceof ArrayBuffer || Array.isArray(v),
  "not a BLOB",
);
const rowSchema = z.object({ asset_id: z.string(), vector: blobSchema });

/** Float32 values as the bytes of a BLOB (little-endian, as every Workers host is). */
export function vectorToBlob(values: Float32Array): Uint8Array {
  return new Uint8Array(
    values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength),
  );
}

/** The float32 values of a BLOB; null when it does not hold exactly `dimensions` of them. */
export function blobToVector(blob: unknown, dimensions: number): Float32Array | null {
  const parsed = blobSchema.safeParse(blob);
  if (!parsed.success) return null;
  const bytes =
    parsed.data instanceof ArrayBuffer ? new Uint8Array(parsed.data) : Uint8Array.from(parsed.data);
  if (bytes.byteLength !== dimensions * 4) return null;
  return new Float32Array(bytes.buffer, bytes.byteOffset, dimensions);
}

/** Rows read per page: ~256 KB of vectors, whatever their size. */
function pageSize(dimensions: number): number {
  return Math.max(16, Math.floor((256 * 1024) / (dimensions * 4)));
}

/**
 * The vector index without Vectorize (local dev, tests): vectors as BLOBs in
 * `asset_vectors`, and an exact cosine search over the user's rows, read in pages so a
 * user with tens of thousands of photos stays well within a Worker's memory.
 */
export class D1VectorIndex implements VectorIndex {
  readonly backend = "d1";
  readonly visibilityLagMs = 0;

  constructor(
    private readonly db: D1Database,
    readonly kind: VectorKind,
  ) {}

  async upsert(uid: string, assetId: string, values: Float32Array): Promise<void> {
    checkVector(this.kind, values);
    // An asset id names one user's asset: never let a row change hands.
    await this.db
      .prepare(
        `INSERT INTO asset_vectors (kind, asset_id, user_id, vector) VALUES (?, ?, ?, ?)
         ON CONFLICT (kind, asset_id) DO UPDATE SET vector = excluded.vector
         WHERE asset_vectors.user_id = excluded.user_id`,
      )
      .bind(this.kind, assetId, uid, vectorToBlob(values))
      .run();
  }

  async query(uid: string, values: Float32Array, topK: number): Promise<VectorMatch[]> {
    checkVector(this.kind, values);
    const k = clampTopK(topK);
    const dimensions = vectorDimensions[this.kind];
    const queryNorm = norm(values);
    const best: VectorMatch[] = [];
    const limit = pageSize(dimensions);
    let after = "";
    for (;;) {
      const { results } = await this.db
        .prepare(
          `SELECT asset_id, vector FROM asset_vectors
           WHERE kind = ? AND user_id = ? AND asset_id > ?
           ORDER BY asset_id LIMIT ?`,
        )
        .bind(this.kind, uid, after, limit)
        .all();
      for (const raw of results) {
        const row = rowSchema.safeParse(raw);
        if (!row.success) continue;
        after = row.data.asset_id;
        const vector = blobToVector(row.data.vector, dimensions);
        if (!vector) continue;
        const score = cosineSimilarity(values, queryNorm, vector);
        insertRanked(best, { assetId: row.data.asset_id, score }, k);
      }
      if (results.length < limit) break;
    }
    return best;
  }

  async delete(uid: string, assetIds: readonly string[]): Promise<void> {
    // Well under D1's 100 bound parameters per statement.
    const statements: D1PreparedStatement[] = [];
    for (let i = 0; i < assetIds.length; i += 90) {
      const ids = assetIds.slice(i, i + 90);
      statements.push(
        this.db
          .prepare(
            `DELETE FROM asset_vectors WHERE kind = ? AND user_id = ?
             AND asset_id IN (${ids.map(() => "?").join(", ")})`,
          )
          .bind(this.kind, uid, ...ids),
      );
    }
    if (statements.length > 0) await this.db.batch(statements);
  }
}

function norm(v: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += (v[i] ?? 0) * (v[i] ?? 0);
  return Math.sqrt(sum);
}

function cosineSimilarity(q: Float32Array, qNorm: number, v: Float32Array): number {
  let dot = 0;
  let vv = 0;
  for (let i = 0; i < q.length; i++) {
    const x = v[i] ?? 0;
    dot += (q[i] ?? 0) * x;
    vv += x * x;
  }
  const denominator = qNorm * Math.sqrt(vv);
  return denominator > 0 ? dot / denominator : 0;
}

/** Keeps `best` sorted by score (then asset id, for a stable order) and at most k long. */
function insertRanked(best: VectorMatch[], match: VectorMatch, k: number): void {
  const worse = (a: VectorMatch, b: VectorMatch) =>
    a.score < b.score || (a.score === b.score && a.assetId > b.assetId);
  const last = best[best.length - 1];
  if (best.length === k && last && !worse(last, match)) return;
  let i = best.length;
  while (i > 0) {
    const prev = best[i - 1];
    if (!prev || !worse(prev, match)) break;
    i -= 1;
  }
  best.splice(i, 0, match);
  if (best.length > k) best.pop();
}
