import {
  checkVector,
  clampTopK,
  type VectorIndex,
  type VectorizeBinding,
  type VectorKind,
  type VectorMatch,
} from "./vector-types";

/**
 * The metadata property every vector carries its owner in. Each index needs a string
 * metadata index on it, created BEFORE vectors are inserted: vectors upserted earlier are
 * not in the metadata index and no filtered query finds them
 * (https://developers.cloudflare.com/vectorize/reference/metadata-filtering/):
 * `npx wrangler vectorize create-metadata-index <index> --property-name=uid --type=string`.
 * A string metadata index holds the first 64 bytes of the value: a uid is 36.
 */
export const OWNER_PROPERTY = "uid";

/**
 * Vectorize: one index per vector kind (`darkroom-descriptor`, 128 dimensions;
 * `darkroom-text`, 768; both cosine), vector id = asset id, the owner in the `uid`
 * metadata property. Every query filters on it: "filter is applied first, and the topK
 * results are taken from the filtered set", so a query only ever sees that user's
 * vectors. Not namespaces: an index holds at most 50,000 of them (1,000 on the Free
 * plan; https://developers.cloudflare.com/vectorize/platform/limits/), so user 50,001
 * could never be searchable; a metadata filter has no such ceiling. Queries return
 * neither values nor metadata, which keeps topK allowed up to 100 (20 otherwise).
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
    await this.binding.upsert([
      { id: assetId, values: Array.from(values), metadata: { [OWNER_PROPERTY]: uid } },
    ]);
  }

  async query(uid: string, values: Float32Array, topK: number): Promise<VectorMatch[]> {
    checkVector(this.kind, values);
    const { matches } = await this.binding.query(Array.from(values), {
      topK: clampTopK(topK),
      filter: { [OWNER_PROPERTY]: uid },
      returnValues: false,
      returnMetadata: "none",
    });
    return matches.map((m) => ({ assetId: m.id, score: m.score }));
  }

  async delete(_uid: string, assetIds: readonly string[]): Promise<void> {
    // Ids are unique across the index (they are asset ids), whoever owns them.
    for (let i = 0; i < assetIds.length; i += 1000) {
      await this.binding.deleteByIds(assetIds.slice(i, i + 1000));
    }
  }
}
