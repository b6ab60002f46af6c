// What a user's move between shards copies, checks and removes, table by table (DESIGN.md,
// "Sharding: moving a user"; the protocol is move-user.ts). The lists here are the whole
// answer to "which rows are a user's": move-tables.test (workers/api/test) compares them
// with the tables a migrated shard has, so a table added later fails that test until it
// is listed in one of them.

/** A table whose rows belong to one user each, copied row by row. */
export type UserTable = {
  readonly name: string;
  /** What identifies a row; the verification compares these, source against target. */
  readonly key: readonly string[];
  /** Columns the target assigns itself (an INTEGER PRIMARY KEY another user may hold there). */
  readonly skip?: readonly string[];
};

/**
 * Every per-user table of a shard, parents first (D1 enforces foreign keys: `batch_items`
 * refers to `batches`, `batches` and `assets` to `users`). Each has a `user_id` column.
 */
export const USER_TABLES: readonly UserTable[] = [
  { name: "batches", key: ["id"] },
  // `version` in the key: a write that slipped past the hold would show as a difference.
  { name: "assets", key: ["id", "version", "status"] },
  { name: "batch_items", key: ["batch_id", "asset_id"] },
  { name: "asset_features", key: ["asset_id"] },
  // Its `id` is the FTS rowid: the target numbers the copy itself (the FTS triggers index it).
  { name: "search_docs", key: ["asset_id"], skip: ["id"] },
  // The vector index's local stand-in; production's Vectorize vectors move in move-vectors.ts.
  { name: "asset_vectors", key: ["kind", "asset_id"] },
];

/**
 * Every other table of a shard, and why the move leaves it as it is. Tables whose name
 * starts with a key ending in `*` match by prefix (FTS5's shadow tables).
 */
export const NOT_COPIED: Readonly<Record<string, string>> = {
  users: "the user's row in the shard: the move writes it on the target first and removes it last",
  user_status_counts:
    "derived from assets: recounted on the target after the copy, removed on the source",
  "search_fts*":
    "the FTS5 index of search_docs and its shadow tables, kept by search_docs' triggers",
  ops_counts:
    "events per minute of the shard where they happened: a copy adds none (0009's incoming fence)",
  ops_failures: "failures per minute, like ops_counts",
  ops_latency: "latency histograms per minute, like ops_counts",
  ops_failed_now: "a count of rows, not a row of a user: the asset triggers move it with the rows",
  ops_latency_bounds: "the fixed histogram buckets, the same everywhere",
  counter_recount: "the shard's recount cursor",
  request_timings: "operator-wide, in the directory",
  sweep_runs: "operator-wide, in the directory",
  user_shards: "the directory's map; the move flips its row",
  user_moves: "the directory's moves in progress",
  shard_fences: "the move's own fences",
  d1_migrations: "the migration journal",
  sqlite_sequence: "SQLite's own",
  _cf_KV: "D1's own",
  _cf_METADATA: "D1's own",
};

/** True when `table` is listed in NOT_COPIED (exactly or by a `*` prefix). */
export function notCopied(table: string): boolean {
  return Object.keys(NOT_COPIED).some((k) =>
    k.endsWith("*") ? table.startsWith(k.slice(0, -1)) : table === k,
  );
}

/** Rows per read of a copy (one D1 batch of INSERTs writes them). */
export const COPY_PAGE = 500;

/** Bound parameters per D1 statement (https://developers.cloudflare.com/d1/platform/limits/). */
const D1_MAX_PARAMS = 100;

type Row = Record<string, unknown>;

/** D1 hands a BLOB back as an array of bytes; bound as such it would be stored as text. */
function bindable(value: unknown): unknown {
  return Array.isArray(value) ? new Uint8Array(value) : value;
}

/**
 * Copies the user's rows of `table` from `source` to `target`, `COPY_PAGE` at a time in
 * rowid order; `transform` may change a row on the way (the move clears live claims).
 * Returns the rows copied.
 */
export async function copyTable(
  source: D1Database,
  target: D1Database,
  table: UserTable,
  uid: string,
  transform: (row: Row) => Row = (row) => row,
): Promise<number> {
  let after = -1;
  let copied = 0;
  for (;;) {
    const { results } = await source
      .prepare(
        `SELECT rowid AS __rowid, * FROM ${table.name} WHERE user_id = ? AND rowid > ? ORDER BY rowid LIMIT ?`,
      )
      .bind(uid, after, COPY_PAGE)
      .all<Row>();
    if (results.length === 0) return copied;
    const rows = results.map((raw) => {
      const { __rowid: _, ...rest } = raw;
      return transform(rest);
    });
    const columns = Object.keys(rows[0] ?? {}).filter((c) => !table.skip?.includes(c));
    // As many rows a statement as D1's 100 bound parameters allow (25 of batch_items, 2 of assets).
    const perStatement = Math.max(1, Math.floor(D1_MAX_PARAMS / columns.length));
    const inserts: D1PreparedStatement[] = [];
    for (let i = 0; i < rows.length; i += perStatement) {
      const part = rows.slice(i, i + perStatement);
      const tuple = `(${columns.map(() => "?").join(", ")})`;
      inserts.push(
        target
          .prepare(
            `INSERT INTO ${table.name} (${columns.join(", ")}) VALUES ${part.map(() => tuple).join(", ")}`,
          )
          .bind(...part.flatMap((row) => columns.map((c) => bindable(row[c])))),
      );
    }
    await target.batch(inserts);
    copied += results.length;
    after = Number(results.at(-1)?.__rowid);
  }
}

/**
 * Deletes the user's rows of `tables` from `db`, children first, 500 rows a statement
 * (a large library never makes one long write). Returns the rows deleted.
 */
export async function deleteUserRows(
  db: D1Database,
  uid: string,
  tables: readonly UserTable[] = USER_TABLES,
): Promise<number> {
  let deleted = 0;
  for (const table of [...tables].reverse()) {
    for (;;) {
      const r = await db
        .prepare(
          `DELETE FROM ${table.name} WHERE rowid IN (SELECT rowid FROM ${table.name} WHERE user_id = ? LIMIT 500)`,
        )
        .bind(uid)
        .run();
      deleted += r.meta.changes;
      if (r.meta.changes === 0) break;
    }
  }
  return deleted;
}

/** The user's row keys of `table` in `db`, sorted (what the verification compares). */
export async function rowKeys(db: D1Database, table: UserTable, uid: string): Promise<string[]> {
  const keys: string[] = [];
  let after = -1;
  const key = table.key.map((c) => `coalesce(${c}, '')`).join(" || '|' || ");
  for (;;) {
    const { results } = await db
      .prepare(
        `SELECT rowid AS r, ${key} AS k FROM ${table.name} WHERE user_id = ? AND rowid > ? ORDER BY rowid LIMIT 1000`,
      )
      .bind(uid, after)
      .all<{ r: number; k: string }>();
    if (results.length === 0) return keys.sort();
    for (const row of results) keys.push(String(row.k));
    after = results.at(-1)?.r ?? after;
  }
}

/** The first difference between the user's rows in `a` and `b`, or null when every table matches. */
export async function firstDifference(
  a: D1Database,
  b: D1Database,
  uid: string,
): Promise<string | null> {
  for (const table of USER_TABLES) {
    const [left, right] = await Promise.all([rowKeys(a, table, uid), rowKeys(b, table, uid)]);
    if (left.length !== right.length) {
      return `${table.name}: ${left.length} rows in the source, ${right.length} in the target`;
    }
    const at = left.findIndex((k, i) => k !== right[i]);
    if (at >= 0) return `${table.name}: ${left[at]} in the source, ${right[at]} in the target`;
  }
  return null;
}

/**
 * The user's counters on `db` rewritten from their assets there (the sweeper's recount
 * for one user, in one D1 batch): after a copy, whatever the insert triggers added.
 */
export async function recountUser(db: D1Database, uid: string): Promise<void> {
  await db.batch([
    db.prepare("DELETE FROM user_status_counts WHERE user_id = ?").bind(uid),
    db
      .prepare(
        `INSERT INTO user_status_counts (user_id, status, n)
         SELECT user_id, status, COUNT(*) FROM assets WHERE user_id = ? GROUP BY user_id, status`,
      )
      .bind(uid),
  ]);
}
