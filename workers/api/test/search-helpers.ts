import { env } from "cloudflare:workers";
import {
  DESCRIPTOR_DIMENSIONS,
  exifWords,
  storeFor,
  upsertSearchDoc,
  type VectorizeBinding,
  vectorIndex,
  vectorToBlob,
} from "@darkroom/shared";
import { wordVector } from "../../../packages/shared/test/ai-test-double";
import { shardIndexes } from "../../../test/workerd/shards";

/**
 * What the embedder leaves behind for a `ready` asset (the row, its features, FTS
 * document and vectors), written directly: the api tests exercise search and similar,
 * the embedder's own tests exercise how these are computed.
 */
export type ReadyAssetOptions = {
  name?: string;
  status?: string;
  labels?: string[];
  caption?: string | null;
  camera?: { make: string; model: string };
  takenAt?: number;
  /** The visual descriptor; a unit vector along `axis` by default. */
  descriptor?: Float32Array;
  /** Vector indexes to write to (Vectorize test doubles); D1 when absent. */
  vectors?: { descriptor?: VectorizeBinding; text?: VectorizeBinding };
  /** Index the caption + labels as a semantic vector too (AI mode). */
  semantic?: boolean;
};

export async function readyAsset(uid: string, opts: ReadyAssetOptions = {}): Promise<string> {
  const id = crypto.randomUUID();
  const now = Date.now();
  const labels = opts.labels ?? [];
  const caption = opts.caption ?? null;
  const store = await storeFor(env, uid);
  const db = store.d1;
  await db
    .prepare(
      `INSERT INTO assets (id, user_id, batch_id, name, size, type, sha256, status, version,
       camera_make, camera_model, taken_at, labels, caption, created_at, updated_at)
     VALUES (?, ?, ?, ?, 100, 'image/jpeg', ?, ?, 6, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(
      id,
      uid,
      crypto.randomUUID(),
      opts.name ?? "photo.jpg",
      id.replaceAll("-", "").padEnd(64, "0"),
      opts.status ?? "ready",
      opts.camera?.make ?? null,
      opts.camera?.model ?? null,
      opts.takenAt ?? null,
      JSON.stringify(labels),
      caption,
      now,
      now,
    )
    .run();
  const descriptor = opts.descriptor ?? axisVector(0);
  await db.batch([
    db
      .prepare(
        `INSERT INTO asset_features (asset_id, user_id, phash, descriptor, descriptor_version, created_at)
       VALUES (?, ?, '0000000000000000', ?, 1, ?)`,
      )
      .bind(id, uid, vectorToBlob(descriptor), now),
    upsertSearchDoc(db, {
      assetId: id,
      uid,
      name: opts.name ?? "photo.jpg",
      exif: exifWords(opts.camera?.make ?? null, opts.camera?.model ?? null, opts.takenAt ?? null),
      labels,
      caption: caption ?? "",
    }),
  ]);
  const indexes = shardIndexes(opts.vectors ?? {});
  await vectorIndex(indexes, store, "descriptor").upsert(uid, id, descriptor);
  if (opts.semantic) {
    const text = [caption ?? "", labels.join(", ")].filter(Boolean).join(". ");
    await vectorIndex(indexes, store, "text").upsert(
      uid,
      id,
      unit(Float32Array.from(wordVector(text))),
    );
  }
  return id;
}

/** A unit descriptor: along one axis, tilted towards another by `tilt` (0..1). */
export function axisVector(axis: number, tilt = 0, towards = axis + 1): Float32Array {
  const v = new Float32Array(DESCRIPTOR_DIMENSIONS);
  v[axis % DESCRIPTOR_DIMENSIONS] = 1 - tilt;
  v[towards % DESCRIPTOR_DIMENSIONS] = (v[towards % DESCRIPTOR_DIMENSIONS] ?? 0) + tilt;
  return unit(v);
}

function unit(v: Float32Array): Float32Array {
  const n = Math.hypot(...v);
  return n > 0 ? v.map((x) => x / n) : v;
}

export type SearchBody = {
  mode?: string;
  results: { asset: { id: string; status: string; labels: string[] }; score: number }[];
};
