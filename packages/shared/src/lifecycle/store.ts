import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";
import { type ShardEnv, shardDatabase, shardDatabases, shardOf } from "./shards";

export type Db = DrizzleD1Database<Record<string, never>>;

/** What the asset store needs of a worker's env: every worker binds the shards and the directory. */
export type StoreEnv = ShardEnv;

/**
 * One user's asset store: the shard that holds the user's assets, batches, features and
 * search documents. `db` for drizzle queries, `d1` for the few raw statements, `shard`
 * for what is sharded beside D1 (the Vectorize indexes, search/vector-index.ts).
 */
export type AssetStore = {
  readonly uid: string;
  readonly shard: number;
  readonly db: Db;
  readonly d1: D1Database;
  /**
   * Whether the directory still puts the user here (throws `UserMoving` while they are
   * held): asked before a missing row is taken for a deleted asset, because a user moved
   * away meanwhile leaves no row here either (DESIGN.md, "Sharding: moving a user").
   */
  stillHome(): Promise<boolean>;
};

function storeOn(env: StoreEnv, uid: string, shard: number): AssetStore {
  const d1 = shardDatabase(env, shard);
  return {
    uid,
    shard,
    db: drizzle(d1),
    d1,
    stillHome: async () => (await shardOf(env, uid)) === shard,
  };
}

/**
 * The store of user `uid`: the shard the directory names (DESIGN.md, "Sharding"). Every
 * stage and route reaches a user's rows through here; nothing else reads a shard binding.
 */
export async function storeFor(env: StoreEnv, uid: string): Promise<AssetStore> {
  return storeOn(env, uid, await shardOf(env, uid));
}

/**
 * The directory: what is truly cross-user (users by JWT subject, the user → shard map,
 * the operator-wide tables `request_timings` and `sweep_runs`). It has the shards'
 * schema (one migration set for every database) but holds no user's assets.
 */
export function directoryOf(env: StoreEnv): { readonly db: Db; readonly d1: D1Database } {
  return { db: drizzle(env.DIRECTORY), d1: env.DIRECTORY };
}

/**
 * A shard holding many users' rows, for the work that scans across users (the sweeper,
 * the ops metrics, the recount). It must not write a row without going through
 * `forUser(row.userId)`: a row's user lives in this shard, so that store is this one.
 */
export type CrossUserStore = {
  readonly shard: number;
  readonly db: Db;
  /** The same database, for raw statements (the counters' recount, the ops rollups). */
  readonly d1: D1Database;
  forUser(uid: string): AssetStore;
};

/** Every shard, in shard order: cross-user work is a loop over these. */
export function crossUserStores(env: StoreEnv): CrossUserStore[] {
  return shardDatabases(env).map((d1, shard) => ({
    shard,
    db: drizzle(d1),
    d1,
    forUser: (uid) => storeOn(env, uid, shard),
  }));
}

/**
 * The store of the user owning asset `assetId`, found by asking every shard (in
 * parallel, one primary-key lookup each): for the routes that are given an asset id and
 * no user (the signed media and local upload URLs, an operator's look at one asset).
 * Null when no shard has it.
 */
export async function storeOfAsset(env: StoreEnv, assetId: string): Promise<AssetStore | null> {
  const owners = await Promise.all(
    shardDatabases(env).map((d1) =>
      d1
        .prepare("SELECT user_id AS uid FROM assets WHERE id = ?")
        .bind(assetId)
        .first<{ uid: string }>(),
    ),
  );
  const shard = owners.findIndex((o) => o !== null);
  const owner = owners[shard];
  return owner ? storeOn(env, owner.uid, shard) : null;
}
