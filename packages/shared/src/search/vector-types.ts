import { DESCRIPTOR_DIMENSIONS, TEXT_DIMENSIONS } from "./constants";

/**
 * Two kinds of vectors, two indexes (they differ in size): the visual descriptor of
 * every asset, and the semantic vector of its caption and labels when AI is bound.
 */
export const vectorKinds = ["descriptor", "text"] as const;
export type VectorKind = (typeof vectorKinds)[number];

export const vectorDimensions: Record<VectorKind, number> = {
  descriptor: DESCRIPTOR_DIMENSIONS,
  text: TEXT_DIMENSIONS,
};

/** Vectorize's ceiling for topK when a query returns neither values nor metadata. */
export const MAX_TOP_K = 100;

export type VectorMatch = { assetId: string; score: number };

/**
 * One kind of vector for every user, behind one interface: Vectorize when bound, D1
 * otherwise. Every call is scoped to one user: no query can return another user's
 * vectors. Scores are cosine similarities, best first.
 */
export interface VectorIndex {
  readonly kind: VectorKind;
  readonly backend: "d1" | "vectorize";
  /**
   * How long an upsert may take to become visible to `query` (Vectorize applies
   * mutations asynchronously, within seconds); 0 when it is visible at once.
   */
  readonly visibilityLagMs: number;
  /** Adds or replaces the vector of one asset of one user. */
  upsert(uid: string, assetId: string, values: Float32Array): Promise<void>;
  /** The `topK` (1..100) vectors of this user nearest to `values`. */
  query(uid: string, values: Float32Array, topK: number): Promise<VectorMatch[]>;
  /** Removes the vectors of these assets of this user; unknown ids are ignored. */
  delete(uid: string, assetIds: readonly string[]): Promise<void>;
}

/**
 * The part of a Vectorize binding used here: both the `VectorizeIndex` type that
 * `wrangler types` generates and the newer `Vectorize` class fit it.
 */
export interface VectorizeBinding {
  query(
    vector: Float32Array | Float64Array | number[],
    options?: VectorizeQueryOptions,
  ): Promise<VectorizeMatches>;
  upsert(vectors: VectorizeVector[]): Promise<unknown>;
  deleteByIds(ids: string[]): Promise<unknown>;
  /** The stored vectors of these ids, values and metadata included (a user's move copies them). */
  getByIds(ids: string[]): Promise<VectorizeVector[]>;
}

export function checkVector(kind: VectorKind, values: Float32Array): void {
  if (values.length !== vectorDimensions[kind]) {
    throw new RangeError(
      `a ${kind} vector has ${vectorDimensions[kind]} dimensions, not ${values.length}`,
    );
  }
}

export function clampTopK(topK: number): number {
  return Math.max(1, Math.min(MAX_TOP_K, Math.floor(topK)));
}
