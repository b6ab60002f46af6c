/** Size of the visual descriptor (workers/embedder/src/descriptor.ts, docs/search.md). */
export const DESCRIPTOR_DIMENSIONS = 128;

/** Size of `@cf/baai/bge-base-en-v1.5` embeddings: the semantic (caption + labels) vector. */
export const TEXT_DIMENSIONS = 768;

/**
 * Two photos are near-duplicates when their 64-bit perceptual hashes differ in at most
 * this many bits. Resized and re-encoded copies land at 0–6; unrelated photos around
 * 32 (docs/search.md has the measurements).
 */
export const NEAR_DUPLICATE_MAX_DISTANCE = 10;

/** The largest `limit` of GET /api/search and GET /api/assets/:id/similar. */
export const MAX_SEARCH_LIMIT = 50;

/**
 * The longest query GET /api/search takes, in characters: a few sentences, far more than
 * anyone types, and a bounded input for the embedding model (billed per token).
 */
export const MAX_SEARCH_QUERY_LENGTH = 200;
