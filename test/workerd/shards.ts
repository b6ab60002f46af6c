// The shards of a workerd suite (every suite runs DB_SHARDS = 2, from the wrangler.toml
// it tests): migrations for each database, and the ways a test reaches rows it set up.
import { applyD1Migrations, type D1Migration } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { homeShard, placeUser, shardDatabases, storeFor, storeOfAsset } from "@darkroom/shared";

/** Every database of the deployment: the directory, then each shard. */
export function allDatabases(): D1Database[] {
  return [env.DIRECTORY, ...shardDatabases(env)];
}

/** The one migration set, applied to the directory and to every shard. */
export async function migrateAll(migrations: D1Migration[]): Promise<void> {
  for (const db of allDatabases()) await applyD1Migrations(db, migrations);
}

/** The shard database holding user `uid`'s rows. */
export async function dbOf(uid: string): Promise<D1Database> {
  return (await storeFor(env, uid)).d1;
}

/** The shard database holding asset `assetId`; throws when no shard has it. */
export async function dbOfAsset(assetId: string): Promise<D1Database> {
  const store = await storeOfAsset(env, assetId);
  if (!store) throw new Error(`no shard holds asset ${assetId}`);
  return store.d1;
}

/** Places a user (directory and shard) as the api does at first sight; returns the shard's D1. */
export async function placeTestUser(uid: string, sub = `sub-${uid}`): Promise<D1Database> {
  await placeUser(env, uid, sub);
  return dbOf(uid);
}

/** How many rows `table` has in every shard together (optionally `where`, with `params`). */
export async function countAll(table: string, where = "1", ...params: unknown[]): Promise<number> {
  let n = 0;
  for (const db of shardDatabases(env)) {
    const row = await db
      .prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`)
      .bind(...params)
      .first<{ n: number }>();
    n += row?.n ?? 0;
  }
  return n;
}

const REFUSED = /^\s*insert\b|\b(count|sum|min|max|avg|total|group_concat)\s*\(/i;

/**
 * A statement on every shard, for a test's reads and writes of rows it names by their
 * id: a row lives in one shard, so an UPDATE changes it there and nothing elsewhere, and
 * a read takes the shard that has it. Refused: an INSERT (it would land in every shard;
 * use `dbOf(uid)`) and an aggregate (each shard answers one; use `countAll`/`dbOf`).
 */
class EveryShardStatement {
  constructor(
    private readonly sql: string,
    private readonly params: unknown[] = [],
  ) {}

  bind(...params: unknown[]): EveryShardStatement {
    return new EveryShardStatement(this.sql, params);
  }

  on(db: D1Database): D1PreparedStatement {
    return db.prepare(this.sql).bind(...this.params);
  }

  async first<T = Record<string, unknown>>(): Promise<T | null> {
    for (const db of shardDatabases(env)) {
      const row = await this.on(db).first<T>();
      if (row !== null) return row;
    }
    return null;
  }

  async all<T = Record<string, unknown>>(): Promise<{ results: T[] }> {
    const results: T[] = [];
    for (const db of shardDatabases(env)) results.push(...(await this.on(db).all<T>()).results);
    return { results };
  }

  async run(): Promise<{ meta: { changes: number } }> {
    let changes = 0;
    for (const db of shardDatabases(env)) changes += (await this.on(db).run()).meta.changes;
    return { meta: { changes } };
  }
}

/** A one-row aggregate (`SELECT COUNT(*) AS n …`) over every database, directory included. */
class SummedStatement {
  constructor(
    private readonly sql: string,
    private readonly params: unknown[] = [],
  ) {}

  bind(...params: unknown[]): SummedStatement {
    return new SummedStatement(this.sql, params);
  }

  // The type argument callers write (`first<{ n: number }>()`) is the only row shape.
  async first<_T extends { n: number } = { n: number }>(): Promise<{ n: number }> {
    let n = 0;
    for (const db of allDatabases()) {
      const row = await db
        .prepare(this.sql)
        .bind(...this.params)
        .first<{ n: number }>();
      n += row?.n ?? 0;
    }
    return { n };
  }
}

/** Statements on every shard (see `EveryShardStatement`), and a batch of them per shard. */
export const everyShard = {
  /** `SELECT COUNT(*) AS n …` (the column must be `n`), summed over every database. */
  sum(sql: string): SummedStatement {
    return new SummedStatement(sql);
  },
  prepare(sql: string): EveryShardStatement {
    if (REFUSED.test(sql)) {
      throw new Error(`everyShard refuses ${sql.trim().slice(0, 40)}…: use dbOf(uid)/countAll`);
    }
    return new EveryShardStatement(sql);
  },
  async batch(statements: EveryShardStatement[]): Promise<void> {
    for (const db of shardDatabases(env)) await db.batch(statements.map((s) => s.on(db)));
  },
};

/** `e` with every shard binding wrapped by `wrap` (tests run two shards). */
export function withShards<E extends { DB_0: D1Database; DB_1: D1Database }>(
  e: E,
  wrap: (db: D1Database, shard: number) => D1Database,
): E {
  return { ...e, DB_0: wrap(e.DB_0, 0), DB_1: wrap(e.DB_1, 1) };
}

/** The same Vectorize double bound as every shard's index of its kind (tests run two shards). */
export function shardIndexes<T>(indexes: { descriptor?: T; text?: T }): {
  VECTORS_DESCRIPTOR_0?: T;
  VECTORS_DESCRIPTOR_1?: T;
  VECTORS_TEXT_0?: T;
  VECTORS_TEXT_1?: T;
} {
  const { descriptor, text } = indexes;
  return {
    ...(descriptor ? { VECTORS_DESCRIPTOR_0: descriptor, VECTORS_DESCRIPTOR_1: descriptor } : {}),
    ...(text ? { VECTORS_TEXT_0: text, VECTORS_TEXT_1: text } : {}),
  };
}

/** A fresh user id whose home is shard `n`: tests of fairness within one shard need two. */
export function uidOnShard(n: number): string {
  for (;;) {
    const uid = crypto.randomUUID();
    if (homeShard(uid, shardDatabases(env).length) === n) return uid;
  }
}
