import type { VectorizeBinding } from "../src/search/vector-types";
import { OWNER_PROPERTY } from "../src/search/vectorize-vector-index";

/**
 * TEST DOUBLE of a Vectorize index binding: in memory, for tests only (Vectorize has no
 * local emulation). It models what Darkroom relies on and what can bite it:
 * - namespaces: a query that names one sees only that namespace's vectors;
 * - metadata filtering as https://developers.cloudflare.com/vectorize/reference/metadata-filtering/
 *   describes it: the namespace first, then the filter, then topK from what is left;
 *   only properties with a metadata index can be filtered on, and a vector is in a
 *   metadata index only if it was upserted after that index was created; a string is
 *   indexed by its first 64 bytes; `$eq` (also implicit) and `$ne`; a filter must be a
 *   non-empty object under 2048 bytes of compact JSON, with keys neither empty, nor
 *   containing `"`, `|` or `.` (nesting is not modelled), nor starting with `$`;
 * - cosine scores, best first; upsert replaces a vector with the same id;
 * - topK ceilings: 100, or 20 when values or all metadata are returned (the real
 *   service refuses more; so does this);
 * - the dimensions the index was created with;
 * - asynchronous mutations: upserts and deletes are queued and only become visible
 *   after `settle()` (the real service applies them "within seconds"); construct with
 *   `{ immediate: true }` to apply them at once.
 */
type Stored = {
  values: number[];
  namespace?: string;
  metadata?: Record<string, VectorizeVectorMetadata>;
  /** Metadata as the metadata indexes hold it (those that existed at upsert time). */
  indexed: Map<string, string | number | boolean>;
};

export class VectorizeTestDouble implements VectorizeBinding, VectorizeIndex {
  private readonly vectors = new Map<string, Stored>();
  private readonly metadataIndexes = new Set<string>();
  private readonly pending: (() => void)[] = [];
  /** Every query's options, for assertions (e.g. that the namespace was named). */
  readonly queries: VectorizeQueryOptions[] = [];

  constructor(
    readonly dimensions: number,
    private readonly options: { immediate?: boolean; metadataIndexes?: readonly string[] } = {},
  ) {
    for (const p of options.metadataIndexes ?? []) this.metadataIndexes.add(p);
  }

  /** An index as docs/operations.md creates it: with the `uid` metadata index, before any insert. */
  static asDeployed(
    dimensions: number,
    options: { immediate?: boolean } = {},
  ): VectorizeTestDouble {
    return new VectorizeTestDouble(dimensions, { ...options, metadataIndexes: [OWNER_PROPERTY] });
  }

  /** `wrangler vectorize create-metadata-index`: vectors upserted from now on are indexed. */
  createMetadataIndex(propertyName: string): void {
    this.metadataIndexes.add(propertyName);
  }

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

  private indexedMetadata(
    metadata: Record<string, VectorizeVectorMetadata> | undefined,
  ): Map<string, Indexable> {
    const indexed = new Map<string, Indexable>();
    for (const [key, value] of Object.entries(metadata ?? {})) {
      const v = indexable(value);
      if (this.metadataIndexes.has(key) && v !== null) indexed.set(key, v);
    }
    return indexed;
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
      return v ? [{ id, values: v.values, namespace: v.namespace, metadata: v.metadata }] : [];
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
      metadata: v.metadata ? structuredClone(v.metadata) : undefined,
      indexed: this.indexedMetadata(v.metadata),
    }));
    return this.mutate(
      copies.map((v) => v.id),
      () => {
        for (const { id, ...v } of copies) this.vectors.set(id, v);
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
    const filter = options.filter === undefined ? null : checkFilter(options.filter);
    const q = Array.from(vector);
    const matches = [...this.vectors]
      .filter(([, v]) => options.namespace === undefined || v.namespace === options.namespace)
      .filter(([, v]) => filter === null || filter.every((clause) => clause(v.indexed)))
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

type Indexable = string | number | boolean;
type Clause = (indexed: Map<string, Indexable>) => boolean;

/** The first 64 bytes of a string, cut on a UTF-8 character boundary. */
function first64Bytes(s: string): string {
  const bytes = new TextEncoder().encode(s);
  if (bytes.length <= 64) return s;
  return new TextDecoder().decode(bytes.slice(0, 64)).replace(/\uFFFD+$/, "");
}

function indexable(v: unknown): Indexable | null {
  if (typeof v === "string") return first64Bytes(v);
  return typeof v === "number" || typeof v === "boolean" ? v : null;
}

function filterError(message: string): Error {
  return new Error(`VECTOR_QUERY_ERROR: invalid filter: ${message}`);
}

/** A query filter as clauses over a vector's indexed metadata; throws what Vectorize refuses. */
function checkFilter(filter: unknown): Clause[] {
  if (typeof filter !== "object" || filter === null || Array.isArray(filter)) {
    throw filterError("must be an object");
  }
  const entries = Object.entries(filter);
  if (entries.length === 0) throw filterError("must not be empty");
  if (new TextEncoder().encode(JSON.stringify(filter)).length >= 2048) {
    throw filterError("must be less than 2048 bytes of compact JSON");
  }
  return entries.map(([key, condition]): Clause => {
    if (key === "" || /["|.]/.test(key) || key.startsWith("$") || key.length > 512) {
      throw filterError(`bad key ${JSON.stringify(key)}`);
    }
    const [op, raw] =
      typeof condition === "object" && condition !== null
        ? (Object.entries(condition)[0] ?? ["", undefined])
        : ["$eq", condition];
    if (op !== "$eq" && op !== "$ne") throw filterError(`operator ${op} is not modelled`);
    const value = raw === null ? null : indexable(raw);
    if (value === null && raw !== null) throw filterError(`bad value for ${key}`);
    return (indexed) => {
      const have = indexed.get(key);
      return op === "$eq" ? have !== undefined && have === value : have !== value;
    };
  });
}

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
