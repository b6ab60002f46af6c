import { D1VectorIndex } from "./d1-vector-index";
import type { VectorIndex, VectorizeBinding, VectorKind } from "./vector-types";
import { vectorKinds } from "./vector-types";
import { VectorizeVectorIndex } from "./vectorize-vector-index";

/** The bindings search needs; every worker's Env that has them fits. */
export type SearchBindings = {
  DB: D1Database;
  VECTORS_DESCRIPTOR?: VectorizeBinding;
  VECTORS_TEXT?: VectorizeBinding;
};

export function vectorIndex(env: SearchBindings, kind: VectorKind): VectorIndex {
  const binding = kind === "descriptor" ? env.VECTORS_DESCRIPTOR : env.VECTORS_TEXT;
  return binding ? new VectorizeVectorIndex(binding, kind) : new D1VectorIndex(env.DB, kind);
}

/** Removes an asset's vectors of every kind (delete, or a stage cleaning up after itself). */
export async function deleteVectors(
  env: SearchBindings,
  uid: string,
  assetIds: readonly string[],
): Promise<void> {
  if (assetIds.length === 0) return;
  await Promise.all(vectorKinds.map((kind) => vectorIndex(env, kind).delete(uid, assetIds)));
}
