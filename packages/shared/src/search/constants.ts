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

/**
 * How long an `embedding` claim is exclusive. Past it the claim is considered dead (a
 * crashed or evicted consumer): a delivery takes it over and the sweeper re-sends the
 * message. Longer than any healthy run (AI captioning included), short enough that a
 * lost message costs minutes.
 */
export const EMBED_LEASE_MS = 5 * 60_000;

/** A `processed` asset idle this long lost its `embed` message: the sweeper re-sends it. */
export const PROCESSED_IDLE_MS = 10 * 60_000;

/** The largest `limit` of GET /api/search and GET /api/assets/:id/similar. */
export const MAX_SEARCH_LIMIT = 50;
