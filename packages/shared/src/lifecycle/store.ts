import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";

export type Db = DrizzleD1Database<Record<string, never>>;

/** What the asset store needs of a worker's env: every worker that touches assets binds DB. */
export type StoreEnv = { DB: D1Database };

/**
 * One user's asset store: the database that holds the user's assets, batches, features
 * and search documents. `db` for drizzle queries, `d1` for the few raw statements.
 */
export type AssetStore = { readonly uid: string; readonly db: Db; readonly d1: D1Database };

/**
 * The store of user `uid`. Every stage and route reaches a user's rows through here, so
 * spreading users over several D1 databases (one holds ~3 KB a photo, so its 10 GB ends
 * near 3 million photos) changes this function and `crossUserStores`, nothing else.
 */
export function storeFor(env: StoreEnv, uid: string): AssetStore {
  return { uid, db: drizzle(env.DB), d1: env.DB };
}

/**
 * A database holding many users' rows, for the work that scans across users (the
 * sweeper). It must not write a row without going through `forUser(row.userId)`.
 */
export type CrossUserStore = {
  readonly db: Db;
  /** The same database, for raw statements (the counters' recount, the ops rollups). */
  readonly d1: D1Database;
  forUser(uid: string): AssetStore;
};

/** Every database that holds users' rows: one today. */
export function crossUserStores(env: StoreEnv): CrossUserStore[] {
  return [{ db: drizzle(env.DB), d1: env.DB, forUser: (uid) => storeFor(env, uid) }];
}
