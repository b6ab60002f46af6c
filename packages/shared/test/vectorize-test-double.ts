import type { VectorizeBinding } from "../src/search/vector-types";

/**
 * TEST DOUBLE of a Vectorize index binding: in memory, for tests only (Vectorize has no
 * local emulation). It models what Darkroom relies on and what can bite it:
 * - namespaces: a query that names one sees only that namespace's vectors;
 * - cosine scores, best first; upsert replaces a vector with the same id;
 * - topK ceilings: 100, or 20 when values or all metadata are returned (the real
 *   service refuses more; so does this);
 * - the dimensions the index was created with;
 * - asynchronous mutations: upserts and deletes are queued and only become visible
 *   after `settle()` (the real service applies them "within seconds"); construct with
 *   `{ immediate: true }` to apply them at once.
 */
export class VectorizeTestDouble implements VectorizeBinding, VectorizeIndex {
  private readonly vectors = new Map<string, { values: number[]; namespace?: string }>();
  private readonly pending: (() => void)[] = [];
  /** Every query's options, for assertions (e.g. that the namespace was named). */
  readonly queries: VectorizeQueryOptions[] = [];

  constructor(
    readonly dimensions: number,
    private readonly options: { immediate?: boolean } = {},
  ) {}

  /** Applies the queued mutations, as Vectorize eventually does. */
  settle(): void {
    for (const apply of this.pending.splice(0)) apply();
  }

  /** Vectors visible to queries (pending mutations excluded). */
  get size(): number {
    return this.vectors.size;
  }

  /** Both answer shapes: the beta's `{ ids, count }` and the async `{ mutationId }`. */
  private mutate(ids: string[], apply: () => void): Mutation {
    this.pending.push(apply);
    if (this.options.immediate) this.settle();
    return { ids, count: ids.length, mutationId: crypto.randomUUID() };
  }

  async describe(): Promise<VectorizeIndexDetails> {
    return {
      id: "test-double",
      name: "test-double",
      config: { dimensions: this.dimensions, metric: "cosine" },
      vectorsCount: this.vectors.size,
    };
  }

  async insert(vectors: VectorizeVector[]): Promise<Mutation> {
    const existing = vectors.find((v) => this.vectors.has(v.id));
    if (existing) throw new Error(`VECTOR_INSERT_ERROR: id "${existing.id}" already exists`);
    return this.upsert(vectors);
  }

  async getByIds(ids: string[]): Promise<VectorizeVector[]> {
    return ids.flatMap((id) => {
      const v = this.vectors.get(id);
      return v ? [{ id, values: v.values, namespace: v.namespace }] : [];
    });
  }

  async upsert(vectors: VectorizeVector[]): Promise<Mutation> {
    for (const v of vectors) {
      if (v.values.length !== this.dimensions) {
        throw new Error(
          `VECTOR_UPSERT_ERROR (code = 40012): invalid vector for id="${v.id}", expected ${this.dimensions} dimensions, and got ${v.values.length} dimensions`,
        );
      }
    }
    const copies = vectors.map((v) => ({
      id: v.id,
      values: Array.from(v.values),
      namespace: v.namespace,
    }));
    return this.mutate(
      copies.map((v) => v.id),
      () => {
        for (const v of copies) {
          this.vectors.set(v.id, { values: v.values, namespace: v.namespace });
        }
      },
    );
  }

  async deleteByIds(ids: string[]): Promise<Mutation> {
    const copy = [...ids];
    return this.mutate(copy, () => {
      for (const id of copy) this.vectors.delete(id);
    });
  }

  async query(
    vector: Float32Array | Float64Array | number[],
    options: VectorizeQueryOptions = {},
  ): Promise<VectorizeMatches> {
    this.queries.push({ ...options });
    const topK = options.topK ?? 5;
    const heavy = options.returnValues === true || options.returnMetadata === "all";
    if (topK > (heavy ? 20 : 100) || topK < 1) {
      throw new Error(
        `VECTOR_QUERY_ERROR (code = 40025): topK must be between 1 and ${heavy ? 20 : 100}`,
      );
    }
    if (vector.length !== this.dimensions) {
      throw new Error(
        `VECTOR_QUERY_ERROR (code = 40012): expected ${this.dimensions} dimensions, and got ${vector.length}`,
      );
    }
    const q = Array.from(vector);
    const matches = [...this.vectors]
      .filter(([, v]) => options.namespace === undefined || v.namespace === options.namespace)
      .map(([id, v]) => ({
        id,
        namespace: v.namespace,
        score: cosine(q, v.values),
        ...(options.returnValues ? { values: v.values } : {}),
      }))
      .sort((a, b) => b.score - a.score || a.id.localeCompare(b.id))
      .slice(0, topK);
    return { matches, count: matches.length };
  }
}

type Mutation = VectorizeVectorMutation & VectorizeAsyncMutation;

function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}
