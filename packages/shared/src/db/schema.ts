import { sql } from "drizzle-orm";
import {
  blob,
  check,
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";
import { assetStatuses } from "../assets";

// Timestamps are epoch milliseconds (INTEGER): cheap comparisons for leases and sweeps.

export const users = sqliteTable("users", {
  /** Opaque internal id (UUID): the only user identity that reaches R2 keys. */
  id: text("id").primaryKey(),
  /** The JWT `sub`, never used outside this table. */
  sub: text("sub").notNull().unique(),
  createdAt: integer("created_at").notNull(),
});

/**
 * The directory (issue 22): which shard holds each user's rows. Written at the user's
 * first sight (a stable hash of the id, packages/shared/src/lifecycle/shards.ts) and
 * changed only by a move. Lives in the DIRECTORY database; in a shard it stays empty.
 */
export const userShards = sqliteTable("user_shards", {
  userId: text("user_id").primaryKey(),
  shard: integer("shard").notNull(),
  assignedAt: integer("assigned_at").notNull(),
});

export const batches = sqliteTable(
  "batches",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    index("batches_user_created").on(t.userId, t.createdAt),
    // The sweeper: old batches, oldest first.
    index("batches_created").on(t.createdAt),
  ],
);

export const assets = sqliteTable(
  "assets",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id),
    /** The batch the asset was first uploaded in. */
    batchId: text("batch_id").notNull(),
    name: text("name").notNull(),
    size: integer("size").notNull(),
    type: text("type").notNull(),
    sha256: text("sha256").notNull(),
    status: text("status", { enum: assetStatuses }).notNull(),
    /** Incremented by every transition; events carry it so clients keep the newest. */
    version: integer("version").notNull().default(1),
    /** When the current upload URL expires (pending only). */
    expiresAt: integer("expires_at"),
    /** When a consumer claimed the current stage (processing/embedding): the lease. */
    claimedAt: integer("claimed_at"),
    /**
     * The random id of the current claim (processing/embedding): the claim's writes apply
     * only while it is still this one. Two claims in one millisecond share `claimed_at`,
     * never this.
     */
    claimToken: text("claim_token"),
    /**
     * When the message a dead-letter handler re-drove after a transient outage is due
     * (epoch ms): the sweeper leaves the row to that message until then (plus the stage's
     * idle time), so a re-drive's backoff is not cut short by a re-send.
     */
    retryAt: integer("retry_at"),
    attempts: integer("attempts").notNull().default(0),
    /** Retries its owner asked for (POST …/retry, …/retry-failed): capped per asset. */
    retries: integer("retries").notNull().default(0),
    /** JSON `{ stage, code, message }` when failed. */
    error: text("error"),
    width: integer("width"),
    height: integer("height"),
    takenAt: integer("taken_at"),
    cameraMake: text("camera_make"),
    cameraModel: text("camera_model"),
    /** JSON `{ thumb: { width, height, bytes }, preview: {...} }`. */
    variants: text("variants"),
    nearDuplicateOf: text("near_duplicate_of"),
    /** JSON array of strings. */
    labels: text("labels"),
    caption: text("caption"),
    /**
     * JSON `{ code, message }`: why a `ready` asset has no caption (AI unbound, paused,
     * out of its daily allocation, the model gone or refusing the photo). Null otherwise.
     */
    captionSkipped: text("caption_skipped"),
    /**
     * When the AI description this asset skipped may be tried again (epoch ms): the
     * sweeper's re-describe rule sends it once the AI breaker is closed. Null when there
     * is nothing to redo (described, or the photo itself was refused).
     */
    redescribeAt: integer("redescribe_at"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    // Lifecycle timestamps (docs/operations.md, "Ops metrics"): set by the status change
    // itself (`statusStamps`), never touched by the sweeper, so ages and stage timings are
    // SQL over this table. `updated_at` is not enough: the sweeper touches it.
    /** When the row entered its current status. */
    statusAt: integer("status_at"),
    /** When the original last arrived (`pending`/`failed` → `uploaded`); a hand-back keeps it. */
    uploadedAt: integer("uploaded_at"),
    /** When processing last finished (`→ processed`); a hand-back keeps it. */
    processedAt: integer("processed_at"),
    /** When the asset became `ready`. */
    readyAt: integer("ready_at"),
    /** When the last retry (`retries`, a user's or an operator's) sent it back. */
    retriedAt: integer("retried_at"),
    /** Messages the sweeper re-sent for this asset, and when it last did. */
    sweeps: integer("sweeps").notNull().default(0),
    sweptAt: integer("swept_at"),
  },
  (t) => [
    uniqueIndex("assets_user_sha256").on(t.userId, t.sha256),
    // GET /api/assets: newest first, keyset pagination.
    index("assets_user_created").on(t.userId, t.createdAt, t.id),
    // GET /api/stats and status filters.
    index("assets_user_status").on(t.userId, t.status),
    // The sweeper: rows idle in a state.
    index("assets_status_updated").on(t.status, t.updatedAt),
    // The sweeper: does a batch still own an asset?
    index("assets_batch").on(t.batchId),
    // The re-describe rule: skipped photos, oldest first.
    index("assets_redescribe").on(t.redescribeAt),
    // Ops metrics: the oldest row in each status, and what finished within a window.
    index("assets_status_since").on(t.status, t.statusAt),
    index("assets_uploaded_at").on(t.uploadedAt).where(sql`${t.uploadedAt} IS NOT NULL`),
    index("assets_processed_at").on(t.processedAt).where(sql`${t.processedAt} IS NOT NULL`),
    index("assets_ready_at").on(t.readyAt).where(sql`${t.readyAt} IS NOT NULL`),
    index("assets_retried_at").on(t.retriedAt).where(sql`${t.retriedAt} IS NOT NULL`),
    check(
      "assets_status_check",
      sql`${t.status} IN ${sql.raw(`(${assetStatuses.map((s) => `'${s}'`).join(",")})`)}`,
    ),
  ],
);

/** Every file dropped into a batch, duplicates included (they point at the existing asset). */
export const batchItems = sqliteTable(
  "batch_items",
  {
    batchId: text("batch_id")
      .notNull()
      .references(() => batches.id),
    assetId: text("asset_id").notNull(),
    userId: text("user_id").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("batch_items_batch_asset").on(t.batchId, t.assetId),
    index("batch_items_asset").on(t.assetId),
  ],
);

/**
 * What the embedder derived from an asset's thumb: its perceptual hash and visual
 * descriptor (docs/search.md). Always in D1, whichever vector index is bound: `similar`
 * reads the asset's own descriptor here, and near-duplicate detection compares hashes
 * of photos embedded moments ago, before Vectorize can return them.
 */
export const assetFeatures = sqliteTable(
  "asset_features",
  {
    assetId: text("asset_id").primaryKey(),
    userId: text("user_id").notNull(),
    /** 64-bit DCT perceptual hash, 16 lowercase hex digits. */
    phash: text("phash").notNull(),
    /** The visual descriptor: little-endian float32 values, L2-normalised. */
    descriptor: blob("descriptor", { mode: "buffer" }).notNull(),
    descriptorVersion: integer("descriptor_version").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("asset_features_user_created").on(t.userId, t.createdAt)],
);

/**
 * The text a `ready` asset is found by without AI (and the words of its caption and
 * labels with it): the content table of the FTS5 index `search_fts`, which triggers keep
 * in sync (migrations/0002_search_index.sql; drizzle cannot express virtual tables).
 */
export const searchDocs = sqliteTable("search_docs", {
  /** The FTS5 rowid. */
  id: integer("id").primaryKey(),
  assetId: text("asset_id").notNull().unique(),
  userId: text("user_id").notNull(),
  /** The user id as one FTS token ("u" + 32 hex digits): every MATCH is scoped by it. */
  userKey: text("user_key").notNull(),
  name: text("name").notNull(),
  /** Camera make and model, and when the photo was taken, in words. */
  exif: text("exif").notNull(),
  labels: text("labels").notNull(),
  caption: text("caption").notNull(),
});

/**
 * The vector index when no Vectorize binding is present (local dev, tests): one row per
 * asset and vector kind, queried by exact cosine over the user's rows.
 */
export const assetVectors = sqliteTable(
  "asset_vectors",
  {
    kind: text("kind", { enum: ["descriptor", "text"] }).notNull(),
    assetId: text("asset_id").notNull(),
    userId: text("user_id").notNull(),
    /** Little-endian float32 values. */
    vector: blob("vector", { mode: "buffer" }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.kind, t.assetId] }),
    // Exact search pages through one user's vectors of one kind.
    index("asset_vectors_user").on(t.kind, t.userId, t.assetId),
  ],
);

/**
 * The api's own time for requests whose latency operators watch (upload registration):
 * one row per request, written after the answer, pruned by the sweeper to the longest
 * metrics window (docs/operations.md). In production the same numbers also go to
 * Workers Analytics Engine.
 */
export const requestTimings = sqliteTable(
  "request_timings",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    route: text("route").notNull(),
    /** When the request arrived (epoch ms). */
    at: integer("at").notNull(),
    durationMs: integer("duration_ms").notNull(),
    status: integer("status").notNull(),
  },
  (t) => [index("request_timings_route_at").on(t.route, t.at)],
);

/** One row per sweeper run: what it re-sent, for the ops metrics; the newest few kept. */
export const sweepRuns = sqliteTable("sweep_runs", {
  startedAt: integer("started_at").primaryKey(),
  durationMs: integer("duration_ms").notNull(),
  renotified: integer("renotified").notNull(),
  expired: integer("expired").notNull(),
  purged: integer("purged").notNull(),
  reprocessed: integer("reprocessed").notNull(),
  reembedded: integer("reembedded").notNull(),
});

/**
 * A user's move between shards in progress (issue 22, DESIGN.md "Sharding: moving a
 * user"), in the DIRECTORY beside `user_shards`: one row while a move runs. `copying`
 * holds the user's writes (`storeFor` refuses with `UserMoving`); `flipped` means
 * `user_shards` already names `target` and the source's copy is being removed.
 */
export const userMoves = sqliteTable("user_moves", {
  userId: text("user_id").primaryKey(),
  source: integer("source").notNull(),
  target: integer("target").notNull(),
  state: text("state", { enum: ["copying", "flipped"] }).notNull(),
  startedAt: integer("started_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/**
 * The fence of a move, in a SHARD (lifecycle/move-user.ts): while a row names a user as
 * `hold`, the triggers of migration 0009 abort every insert, update and delete of that
 * user's rows in this shard; `moved` (the user left) still aborts inserts and updates, so
 * a writer that found this shard before the move can never land a write here;
 * `incoming` (a copy arriving) aborts nothing and keeps the copy's history out of the
 * event rollups (it was counted where it happened).
 */
export const shardFences = sqliteTable("shard_fences", {
  userId: text("user_id").primaryKey(),
  state: text("state", { enum: ["hold", "moved", "incoming"] }).notNull(),
  at: integer("at").notNull(),
});
