import type { SearchBindings } from "../search/vector-index";
import {
  copyTable,
  deleteUserRows,
  firstDifference,
  recountUser,
  USER_TABLES,
} from "./move-tables";
import { copyVectors, dropVectors, userAssetIds } from "./move-vectors";
import { directoryEntry, type ShardEnv, shardCount, shardDatabase } from "./shards";
import { directoryOf } from "./store";

// Moving a user between shards, online (issue 22 point 5; DESIGN.md, "Sharding: moving a
// user"). The states live in the directory's `user_moves`, so every step can be re-run:
//
//   (none) ──begin──▶ copying ──flip──▶ flipped ──purge──▶ (none, user on the target)
//                        │
//                        └─ any failure ─▶ abort: target copy removed, fences lifted, (none)
//
// copying: the source shard's fence (`shard_fences`, migration 0009) is `hold`, so the
//   database itself refuses every write of the user there, including one from a writer
//   that looked the user up before the move began; `storeFor` throws `UserMoving` so new
//   work waits (api 503 + Retry-After, queue messages retried). The copy, the vectors,
//   the verification and the target's recount happen here.
// flip: one directory batch names the target in `user_shards` and marks the move
//   `flipped`: from then on `storeFor` sends everything to the target.
// flipped: the source fence becomes `moved` (inserts and updates still refused, deletes
//   let through) and the source's rows and vectors are removed. The fence stays: a writer
//   holding a store of the old shard can never land a write there.

export type MoveEnv = ShardEnv & SearchBindings;

export type MoveStep = "held" | `copied:${string}` | "copied" | "verified" | "flipped" | "purged";

/** What a move did: rows copied (all tables), vectors upserted, how long writes were held. */
export type MoveResult = {
  uid: string;
  source: number;
  target: number;
  outcome: "moved" | "already-there";
  rows: number;
  vectors: { copied: number; missing: number };
  heldMs: number;
};

/** A move that cannot start or failed; `code` is the api's error code. */
export class MoveError extends Error {
  constructor(
    readonly code:
      | "invalid_shard"
      | "no_such_user"
      | "move_in_progress"
      | "move_failed"
      | "move_running",
    message: string,
    /** For `move_failed`: whether the user was let go (copy removed, writes free again). */
    readonly aborted = false,
  ) {
    super(message);
    this.name = "MoveError";
  }
}

/** Test hooks: called after each step (a test throws from one to fail the move there). */
export type MoveHooks = { afterStep?: (step: MoveStep) => void | Promise<void> };

/** Statuses whose row carries a consumer's claim (processing, embedding). */
const CLAIMED = new Set(["processing", "embedding"]);

/**
 * A claim made in the source shard can no longer complete (its writes hit the fence): the
 * copy drops its claim time, so the message's next delivery takes it over at once
 * (`claimStage`: "a claim without a claim time" is taken over) instead of waiting out
 * the lease. Its token stays, so the take-over is still conditional on it.
 */
function abandonClaim(row: Record<string, unknown>): Record<string, unknown> {
  return CLAIMED.has(String(row.status)) ? { ...row, claimed_at: null } : row;
}

async function setFence(db: D1Database, uid: string, state: "hold" | "moved" | "incoming") {
  await db
    .prepare(
      "INSERT INTO shard_fences (user_id, state, at) VALUES (?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET state = excluded.state, at = excluded.at",
    )
    .bind(uid, state, Date.now())
    .run();
}

async function liftFence(db: D1Database, uid: string) {
  await db.prepare("DELETE FROM shard_fences WHERE user_id = ?").bind(uid).run();
}

/**
 * Moves user `uid` to shard `target` (or finishes a move to it left half done). A move to
 * where the user already is, with none running, is a no-op. Throws `MoveError`.
 */
export async function moveUser(
  env: MoveEnv,
  uid: string,
  target: number,
  hooks: MoveHooks = {},
): Promise<MoveResult> {
  const n = shardCount(env);
  if (!Number.isInteger(target) || target < 0 || target >= n) {
    throw new MoveError("invalid_shard", `shard ${target} is outside DB_SHARDS = ${n}`);
  }
  const entry = await directoryEntry(env, uid);
  if (!entry) throw new MoveError("no_such_user", `user ${uid} is not in the directory`);
  if (entry.move && entry.move.target !== target) {
    throw new MoveError(
      "move_in_progress",
      `user ${uid} is being moved to shard ${entry.move.target}; run that move again to finish it`,
    );
  }
  const source = entry.move?.source ?? entry.shard;
  const result: MoveResult = {
    uid,
    source,
    target,
    outcome: "moved",
    rows: 0,
    vectors: { copied: 0, missing: 0 },
    heldMs: 0,
  };
  if (!entry.move && entry.shard === target) return { ...result, outcome: "already-there" };
  const step = async (s: MoveStep) => hooks.afterStep?.(s);

  if (!entry.move || entry.move.state === "copying") {
    const started = Date.now();
    await begin(env, uid, source, target);
    try {
      await copy(env, result, step);
      await flip(env, uid, source, target);
    } catch (err) {
      const aborted = await abortMove(env, uid).then(
        () => true,
        () => false,
      );
      const why = err instanceof Error ? err.message : String(err);
      throw new MoveError(
        "move_failed",
        aborted
          ? `the move of ${uid} failed and was undone (the user is on shard ${source}, writes free): ${why}`
          : `the move of ${uid} failed and could not be undone; run it again to resume: ${why}`,
        aborted,
      );
    }
    result.heldMs = Date.now() - started;
    await step("flipped");
  }
  await purge(env, uid, source);
  await step("purged");
  return result;
}

/** Records the move (`copying`, first writer wins) unless it is already recorded. */
async function begin(env: MoveEnv, uid: string, source: number, target: number): Promise<void> {
  const now = Date.now();
  await directoryOf(env)
    .d1.prepare(
      `INSERT INTO user_moves (user_id, source, target, state, started_at, updated_at)
     VALUES (?, ?, ?, 'copying', ?, ?) ON CONFLICT (user_id) DO NOTHING`,
    )
    .bind(uid, source, target, now, now)
    .run();
}

/** Holds the user on the source, copies every table and the vectors, verifies, recounts. */
async function copy(env: MoveEnv, r: MoveResult, step: (s: MoveStep) => Promise<void>) {
  const from = shardDatabase(env, r.source);
  const to = shardDatabase(env, r.target);
  await setFence(from, r.uid, "hold");
  await step("held");
  // The target: whatever an earlier attempt left is removed first (its counts with it).
  await setFence(to, r.uid, "incoming");
  await deleteUserRows(to, r.uid);
  const user = await from
    .prepare("SELECT id, sub, created_at FROM users WHERE id = ?")
    .bind(r.uid)
    .first<{ id: string; sub: string; created_at: number }>();
  if (!user) throw new Error(`shard ${r.source} has no users row for ${r.uid}`);
  await to
    .prepare("INSERT INTO users (id, sub, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
    .bind(user.id, user.sub, user.created_at)
    .run();
  for (const table of USER_TABLES) {
    r.rows += await copyTable(
      from,
      to,
      table,
      r.uid,
      table.name === "assets" ? abandonClaim : undefined,
    );
    await step(`copied:${table.name}`);
  }
  await step("copied");
  r.vectors = await copyVectors(env, r.uid, await userAssetIds(to, r.uid), {
    source: r.source,
    target: r.target,
    targetDb: to,
  });
  const difference = await firstDifference(from, to, r.uid);
  if (difference) throw new Error(`verification failed: ${difference}`);
  await recountUser(to, r.uid);
  await liftFence(to, r.uid);
  await step("verified");
}

/**
 * The directory names the target: one batch (a transaction) of two statements that each
 * change a row only if the other did, so the map and the move never disagree.
 */
async function flip(env: MoveEnv, uid: string, source: number, target: number): Promise<void> {
  const d1 = directoryOf(env).d1;
  const now = Date.now();
  const [, moved] = await d1.batch([
    d1
      .prepare(
        `UPDATE user_shards SET shard = ?, assigned_at = ? WHERE user_id = ? AND shard = ?
         AND EXISTS (SELECT 1 FROM user_moves WHERE user_id = ? AND state = 'copying' AND source = ? AND target = ?)`,
      )
      .bind(target, now, uid, source, uid, source, target),
    d1
      .prepare(
        `UPDATE user_moves SET state = 'flipped', updated_at = ?
         WHERE user_id = ? AND state = 'copying' AND target = ?
         AND EXISTS (SELECT 1 FROM user_shards WHERE user_id = ? AND shard = ?)`,
      )
      .bind(now, uid, target, uid, target),
  ]);
  if (moved?.meta.changes !== 1) throw new Error(`the move of ${uid} changed under it`);
}

/** After the flip: the source's copy goes (rows, counters, its users row, vectors). */
async function purge(env: MoveEnv, uid: string, source: number): Promise<void> {
  const from = shardDatabase(env, source);
  await setFence(from, uid, "moved");
  const ids = await userAssetIds(from, uid);
  await deleteUserRows(from, uid);
  await from.batch([
    from.prepare("DELETE FROM user_status_counts WHERE user_id = ?").bind(uid),
    from.prepare("DELETE FROM users WHERE id = ?").bind(uid),
  ]);
  await dropVectors(env, uid, ids, { shard: source, d1: from });
  await directoryOf(env)
    .d1.prepare("DELETE FROM user_moves WHERE user_id = ? AND state = 'flipped'")
    .bind(uid)
    .run();
}

/**
 * Undoes a move still copying: the target's copy (rows, counters, vectors) removed, both
 * fences lifted, the move forgotten; the user stays on the source with nothing lost (the
 * source was only read). Refused once flipped: then only finishing it is right.
 */
export async function abortMove(env: MoveEnv, uid: string): Promise<void> {
  const entry = await directoryEntry(env, uid);
  if (!entry?.move) return;
  if (entry.move.state !== "copying") {
    throw new MoveError("move_in_progress", `the move of ${uid} is past its flip; run it again`);
  }
  const { source, target } = entry.move;
  const to = shardDatabase(env, target);
  await setFence(to, uid, "incoming");
  const ids = await userAssetIds(to, uid);
  await deleteUserRows(to, uid);
  await recountUser(to, uid);
  await dropVectors(env, uid, ids, { shard: target, d1: to });
  await liftFence(to, uid);
  await liftFence(shardDatabase(env, source), uid);
  await directoryOf(env)
    .d1.prepare("DELETE FROM user_moves WHERE user_id = ? AND state = 'copying'")
    .bind(uid)
    .run();
}
