import { MAX_SHARDS } from "../production-requirements.mjs";
import { numberVar, readVars } from "../vars";
import { UserMoving } from "./user-moving";

// Users spread over N D1 databases (issue 22, DESIGN.md "Sharding"). The one setting is
// `DB_SHARDS`; its databases are bound as `DB_0 … DB_{N-1}` in every worker, beside one
// small `DIRECTORY` database for what is truly cross-user (users, their shard, the
// operator-wide tables). Only this module and store.ts read those bindings
// (test/shared/shard-boundary.test.ts).

export { MAX_SHARDS };

/** What the shards need of a worker's env; every worker's Env fits. */
export type ShardEnv = { DIRECTORY: D1Database; DB_SHARDS?: string | number };

const shardVars = {
  DB_SHARDS: numberVar(1, { integer: true, positive: true, max: MAX_SHARDS }),
};

/** The binding name of shard `n`. */
export function shardBinding(n: number): string {
  return `DB_${n}`;
}

/** How many shards the deployment has (`DB_SHARDS`, default 1). */
export function shardCount(env: ShardEnv): number {
  return readVars(shardVars, env, "Invalid shard setting").DB_SHARDS;
}

function isD1(value: unknown): value is D1Database {
  return (
    typeof value === "object" &&
    value !== null &&
    "prepare" in value &&
    typeof value.prepare === "function" &&
    "batch" in value &&
    typeof value.batch === "function"
  );
}

/** The database of shard `n`; throws naming the binding when the worker lacks it. */
export function shardDatabase(env: ShardEnv, n: number): D1Database {
  const name = shardBinding(n);
  const binding: unknown = Reflect.get(env, name);
  if (!isD1(binding)) {
    throw new Error(`DB_SHARDS = ${shardCount(env)} but ${name} is not bound to a D1 database`);
  }
  return binding;
}

/** Every shard's database, in shard order. */
export function shardDatabases(env: ShardEnv): D1Database[] {
  return Array.from({ length: shardCount(env) }, (_, n) => shardDatabase(env, n));
}

/**
 * Where a user goes at first sight: FNV-1a (32 bits) of the user id, modulo the shard
 * count. Stable for a given N; the directory remembers the answer, so growing N sends
 * only new users to the new shards and moves the old ones only when a move says so.
 */
export function homeShard(uid: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < uid.length; i++) {
    h ^= uid.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % shards;
}

/**
 * The shard that holds user `uid`, from the directory, in one read with the user's move
 * if one runs: while it copies (`user_moves.state = 'copying'`) the user's writes are held
 * and this throws `UserMoving` (lifecycle/move-user.ts). A user the directory has not
 * seen yet (created before sharding, or by a tool) is placed now, by `homeShard`.
 */
export async function shardOf(env: ShardEnv, uid: string): Promise<number> {
  const found = await env.DIRECTORY.prepare(
    `SELECT s.shard AS shard, m.state AS moving FROM user_shards s
     LEFT JOIN user_moves m ON m.user_id = s.user_id WHERE s.user_id = ?`,
  )
    .bind(uid)
    .first<{ shard: number; moving: string | null }>();
  if (found?.moving === "copying") throw new UserMoving(uid);
  if (found) return checkedShard(env, found.shard, uid);
  return (await placeUser(env, uid, `uid:${uid}`)).shard;
}

/** The directory's record of user `uid` as it stands, move included (no placing). */
export async function directoryEntry(
  env: ShardEnv,
  uid: string,
): Promise<{
  shard: number;
  move: { source: number; target: number; state: string } | null;
} | null> {
  const row = await env.DIRECTORY.prepare(
    `SELECT s.shard AS shard, m.source AS source, m.target AS target, m.state AS state
     FROM user_shards s LEFT JOIN user_moves m ON m.user_id = s.user_id WHERE s.user_id = ?`,
  )
    .bind(uid)
    .first<{ shard: number; source: number | null; target: number | null; state: string | null }>();
  if (!row) return null;
  const move =
    row.state !== null && row.source !== null && row.target !== null
      ? { source: row.source, target: row.target, state: row.state }
      : null;
  return { shard: checkedShard(env, row.shard, uid), move };
}

function checkedShard(env: ShardEnv, shard: number, uid: string): number {
  const n = shardCount(env);
  if (!Number.isInteger(shard) || shard < 0 || shard >= n) {
    throw new Error(`user ${uid} is in shard ${shard}, outside DB_SHARDS = ${n}`);
  }
  return shard;
}

/**
 * Records user `uid` (JWT subject `sub`) in the directory and in their shard, once: the
 * directory's `users` maps the subject to the id, `user_shards` the id to the shard, and
 * the shard's own `users` row is what its batches and assets refer to. Idempotent, and
 * safe against a concurrent first request of the same user (first writer wins).
 */
export async function placeUser(
  env: ShardEnv,
  uid: string,
  sub: string,
  now = Date.now(),
): Promise<{ uid: string; shard: number }> {
  const home = homeShard(uid, shardCount(env));
  await env.DIRECTORY.prepare(
    "INSERT INTO user_shards (user_id, shard, assigned_at) VALUES (?, ?, ?) ON CONFLICT (user_id) DO NOTHING",
  )
    .bind(uid, home, now)
    .run();
  const placed = await env.DIRECTORY.prepare("SELECT shard FROM user_shards WHERE user_id = ?")
    .bind(uid)
    .first<{ shard: number }>();
  if (!placed) throw new Error(`user ${uid} missing from the directory after placing it`);
  const shard = checkedShard(env, placed.shard, uid);
  await shardDatabase(env, shard)
    .prepare("INSERT INTO users (id, sub, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
    .bind(uid, sub, now)
    .run();
  return { uid, shard };
}
