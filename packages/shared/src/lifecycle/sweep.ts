import { and, asc, eq, inArray, isNull, lt, lte, or, type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { AssetStatus } from "../assets";
import { assets } from "../db/schema";
import { hubPublisher } from "../hub-client";
import {
  type AssetRef,
  enqueue,
  enqueueTouch,
  type PipelineEnv,
  type PipelineStage,
  type PipelineTimings,
  type TouchKind,
} from "./pipeline";
import type { CrossUserStore } from "./store";
import { claimExpired, type Lifecycle, writeAsset } from "./write";

// The sweeper's rules, one per row of the pipeline table (pipeline.ts): the api's cron
// loops over the table and calls `resendStale` for each stage and `resendTouch` for the
// touch. Each takes the database it scans (a `CrossUserStore`), so a loop over several
// databases wraps it unchanged.

/** Rows a rule handles per run and database. */
export const SWEEP_BATCH = 100;

/** What the sweeper's rules need of the api's env: the pipeline's, and the users' hubs. */
export type SweepEnv<H extends Rpc.DurableObjectBranded | undefined> = PipelineEnv & {
  USER_HUB: DurableObjectNamespace<H>;
};

/** The owner's lifecycle for a row found by a scan across users, on the sweep's clock. */
export function ownerLifecycle<H extends Rpc.DurableObjectBranded | undefined>(
  env: { USER_HUB: DurableObjectNamespace<H> },
  store: CrossUserStore,
  uid: string,
  now: number,
): Lifecycle {
  return { store: store.forUser(uid), hub: hubPublisher(env.USER_HUB, uid), now: () => now };
}

/**
 * The user of `owner` holds no fence in this shard (a move is copying them away, or they
 * left: lifecycle/move-user.ts). The sweeper's scans leave such users out, so a sweep
 * does not trip over the fence that refuses their writes; their rows are swept where
 * they live once the move is done.
 */
export function unfenced(owner: SQLiteColumn): SQL {
  return sql`NOT EXISTS (SELECT 1 FROM shard_fences WHERE shard_fences.user_id = ${owner} AND shard_fences.state <> 'incoming')`;
}

/**
 * The ids of up to SWEEP_BATCH rows matching `where`, fair across users (issue 20, point
 * 5): round robin over users (every user's oldest row, then every user's second, …), each
 * user's rows oldest first. One user with ten thousand stale rows takes one turn per round
 * like everyone else, so another user's one lost message is re-sent in the next sweep
 * instead of waiting behind them. The window runs over the matching rows only (the
 * `(status, updated_at)` index finds them).
 */
export function fairTurns(store: CrossUserStore, where: SQL | undefined) {
  const ranked = store.db
    .select({
      id: assets.id,
      at: assets.updatedAt,
      turn: sql<number>`row_number() OVER (PARTITION BY ${assets.userId} ORDER BY ${assets.updatedAt}, ${assets.id})`.as(
        "turn",
      ),
    })
    .from(assets)
    .where(and(where, unfenced(assets.userId)))
    .as("ranked");
  return store.db
    .select({ id: ranked.id })
    .from(ranked)
    .orderBy(asc(ranked.turn), asc(ranked.at))
    .limit(SWEEP_BATCH);
}

/**
 * No re-driven message is on its way: none was (`retry_at` null), or the one a
 * dead-letter handler sent after a backoff (`deadLettered`) was due more than `idleMs`
 * ago and so was lost too. Until then the row is left to that message: re-sending it
 * would cut the backoff short and double the messages of an outage.
 */
function redriveDue(idleMs: number, now: number): SQL {
  return or(isNull(assets.retryAt), lt(assets.retryAt, now - idleMs)) ?? sql`1`;
}

/** One sweeper rule: assets in `status` longer than the timing `after` lost their message. */
export type SweeperRule = {
  readonly status: AssetStatus;
  readonly after: keyof PipelineTimings;
  /** `idle`: no message on its way; `lease`: the claim's holder is presumed dead. */
  readonly kind: "idle" | "lease";
};

/**
 * The sweeper's rules of `stage`, from its row of the table: its `from` status idle past
 * its idle time, and (for a stage that claims) its claimed status past its lease.
 */
export function sweeperRules(stage: PipelineStage): SweeperRule[] {
  const idle: SweeperRule = { status: stage.from, after: stage.idle, kind: "idle" };
  if (stage.claimed === null || stage.lease === null) return [idle];
  return [idle, { status: stage.claimed, after: stage.lease, kind: "lease" }];
}

/**
 * The rows whose `stage` message is presumed lost (`sweeperRules`): idle in its `from`
 * status past its idle time (with no re-drive on its way), or in its claimed status with
 * a claim older than its lease (its consumer died).
 */
export function staleWhere(
  stage: PipelineStage,
  timings: PipelineTimings,
  now: number,
): SQL | undefined {
  return or(
    ...sweeperRules(stage).map((rule) => {
      const waitMs = timings[rule.after];
      const since = and(eq(assets.status, rule.status), lt(assets.updatedAt, now - waitMs));
      return rule.kind === "idle"
        ? and(since, redriveDue(waitMs, now))
        : and(since, claimExpired(waitMs, now));
    }),
  );
}

/**
 * The row's part of a re-send: `updated_at` restarts the idle clock (the next sweep waits
 * a full period), and the ops metrics show, per stuck asset, how often the sweeper re-sent
 * it and when it last did.
 */
function resent(now: number) {
  return { updatedAt: now, sweeps: sql`${assets.sweeps} + 1`, sweptAt: now };
}

/**
 * The sweeper's rule of `stage`: re-sends its message for the rows `staleWhere` finds,
 * at most once per period. The row is touched first, conditionally on the version read,
 * so two sweeps racing each other send one message, and the next sweep waits a full
 * period again. A row whose message cannot be built (no original in R2) is left alone.
 * Returns the messages sent.
 */
export async function resendStale<H extends Rpc.DurableObjectBranded | undefined>(
  env: SweepEnv<H>,
  store: CrossUserStore,
  stage: PipelineStage,
  timings: PipelineTimings,
  now: number,
): Promise<number> {
  const rows = await store.db
    .select({
      id: assets.id,
      userId: assets.userId,
      status: assets.status,
      version: assets.version,
    })
    .from(assets)
    .where(inArray(assets.id, fairTurns(store, staleWhere(stage, timings, now))));
  let sent = 0;
  for (const row of rows) {
    const body = await stage.message(env, row);
    if (body === null) continue;
    // The version read, not a timestamp: every write bumps it, so no two states share one.
    const unchanged = and(eq(assets.status, row.status), eq(assets.version, row.version));
    const lc = ownerLifecycle(env, store, row.userId, now);
    if (!(await writeAsset(lc, row.id, unchanged, resent(now), now))) continue;
    await enqueue(env, stage, row);
    sent += 1;
  }
  return sent;
}

/**
 * The sweeper's rule of a touch: assets in its status whose mark is due, oldest mark
 * first, a bounded batch per run. Each mark is pushed `retryMs` ahead before its message
 * goes out (a write like any other, conditional on the mark seen, so racing sweeps send it
 * once); the touch clears it when its work is complete. Returns the messages sent.
 */
export async function resendTouch<H extends Rpc.DurableObjectBranded | undefined>(
  env: SweepEnv<H>,
  store: CrossUserStore,
  touch: TouchKind,
  now: number,
): Promise<number> {
  const mark = assets[touch.mark];
  const rows = await store.db
    .select({ id: assets.id, userId: assets.userId, mark })
    .from(assets)
    .where(and(eq(assets.status, touch.status), lte(mark, now), unfenced(assets.userId)))
    .orderBy(asc(mark))
    .limit(touch.batch);
  let sent = 0;
  for (const row of rows) {
    if (row.mark === null) continue;
    const lc = ownerLifecycle(env, store, row.userId, now);
    const pushed = await writeAsset(
      lc,
      row.id,
      and(eq(assets.status, touch.status), eq(mark, row.mark)),
      { [touch.mark]: now + touch.retryMs },
      now,
    );
    if (!pushed) continue;
    await enqueueTouch(env, touch, row satisfies AssetRef);
    sent += 1;
  }
  return sent;
}
