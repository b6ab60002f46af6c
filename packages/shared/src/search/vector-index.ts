import { D1VectorIndex } from "./d1-vector-index";
import type { VectorIndex, VectorizeBinding, VectorKind } from "./vector-types";
import { vectorKinds } from "./vector-types";
import { VectorizeVectorIndex } from "./vectorize-vector-index";

/**
 * The bindings search reaches: Vectorize indexes sharded like D1 (issue 22), one per kind
 * per shard, bound as `VECTORS_DESCRIPTOR_<n>` and `VECTORS_TEXT_<n>` (production only).
 * Any worker's Env fits; the bindings are looked up by name.
 */
export type SearchBindings = object;

/** Where a user's vectors live: their store (its shard's D1 and its shard number). */
export type VectorHome = { readonly shard: number; readonly d1: D1Database };

/** The binding name of the `kind` index of shard `n`. */
export function vectorBinding(kind: VectorKind, n: number): string {
  return `VECTORS_${kind.toUpperCase()}_${n}`;
}

function isVectorize(value: unknown): value is VectorizeBinding {
  return (
    typeof value === "object" &&
    value !== null &&
    "query" in value &&
    typeof value.query === "function" &&
    "upsert" in value &&
    typeof value.upsert === "function"
  );
}

/**
 * The `kind` index of the user's shard: Vectorize when bound, else the shard's own D1
 * stand-in (asset_vectors), so search and similar only ever query the user's shard.
 */
export function vectorIndex(env: SearchBindings, home: VectorHome, kind: VectorKind): VectorIndex {
  const binding = vectorizeOf(env, kind, home.shard);
  return binding ? new VectorizeVectorIndex(binding, kind) : new D1VectorIndex(home.d1, kind);
}

/** The Vectorize index of `kind` of shard `n`, or null where none is bound (locally, tests). */
export function vectorizeOf(
  env: SearchBindings,
  kind: VectorKind,
  n: number,
): VectorizeBinding | null {
  const binding: unknown = Reflect.get(env, vectorBinding(kind, n));
  return isVectorize(binding) ? binding : null;
}

/** Removes an asset's vectors of every kind (delete, or a stage cleaning up after itself). */
export async function deleteVectors(
  env: SearchBindings,
  home: VectorHome & { readonly uid: string },
  assetIds: readonly string[],
): Promise<void> {
  if (assetIds.length === 0) return;
  await Promise.all(
    vectorKinds.map((kind) => vectorIndex(env, home, kind).delete(home.uid, assetIds)),
  );
}
