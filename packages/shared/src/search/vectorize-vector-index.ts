import {
  checkVector,
  clampTopK,
  type VectorIndex,
  type VectorizeBinding,
  type VectorKind,
  type VectorMatch,
} from "./vector-types";

/**
 * Vectorize: one index per vector kind (`darkroom-descriptor`, 128 dimensions;
 * `darkroom-text`, 768; both cosine), one namespace per user (the uid), vector id =
 * asset id. Queries name the namespace, so they only ever see that user's vectors, and
 * return neither values nor metadata, which keeps topK allowed up to 100 (20 otherwise).
 */
export class VectorizeVectorIndex implements VectorIndex {
  readonly backend = "vectorize";
  /** Mutations are applied asynchronously: "within seconds"; a generous margin. */
  readonly visibilityLagMs = 5 * 60_000;

  constructor(
    private readonly binding: VectorizeBinding,
    readonly kind: VectorKind,
  ) {}

  async upsert(uid: string, assetId: string, values: Float32Array): Promise<void> {
    checkVector(this.kind, values);
    await this.binding.upsert([{ id: assetId, values: Array.from(values), namespace: uid }]);
  }

  async query(uid: string, values: Float32Array, topK: number): Promise<VectorMatch[]> {
    checkVector(this.kind, values);
    const { matches } = await this.binding.query(Array.from(values), {
      topK: clampTopK(topK),
      namespace: uid,
      returnValues: false,
      returnMetadata: "none",
    });
    return (
      matches
        // The namespace already scopes the query; a match that says otherwise is dropped.
        .filter((m) => m.namespace === undefined || m.namespace === uid)
        .map((m) => ({ assetId: m.id, score: m.score }))
    );
  }

  async delete(_uid: string, assetIds: readonly string[]): Promise<void> {
    // Ids are unique across the index (they are asset ids), whatever their namespace.
    for (let i = 0; i < assetIds.length; i += 1000) {
      await this.binding.deleteByIds(assetIds.slice(i, i + 1000));
    }
  }
}
