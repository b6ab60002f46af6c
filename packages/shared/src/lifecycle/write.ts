import { and, eq, inArray, isNull, lt, ne, or, type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { AssetStatus } from "../assets";
import { assets } from "../db/schema";
import { type HubPublisher, hubPublisher, publishSafely } from "../hub-client";
import { assetEvent, type EventRow, eventColumns } from "./events";
import { type AssetStore, type StoreEnv, storeFor } from "./store";

/**
 * A user's store and hub: everything a write needs to change a row and say so, and the
 * clock its stamps, claims and leases read (a test hands a fixed one, so no assertion
 * depends on time passing between two calls).
 */
export type Lifecycle = {
  readonly store: AssetStore;
  readonly hub: HubPublisher;
  readonly now: () => number;
};

export async function lifecycleFor<H extends Rpc.DurableObjectBranded | undefined>(
  env: StoreEnv & { USER_HUB: DurableObjectNamespace<H> },
  uid: string,
  now: () => number = Date.now,
): Promise<Lifecycle> {
  return { store: await storeFor(env, uid), hub: hubPublisher(env.USER_HUB, uid), now };
}

/** The lifecycle of a store already found (the sweeper's row of a shard, a located asset). */
export function lifecycleOn<H extends Rpc.DurableObjectBranded | undefined>(
  env: { USER_HUB: DurableObjectNamespace<H> },
  store: AssetStore,
  now: () => number = Date.now,
): Lifecycle {
  return { store, hub: hubPublisher(env.USER_HUB, store.uid), now };
}

export type AssetSet = {
  [K in keyof typeof assets.$inferInsert]?: (typeof assets.$inferInsert)[K] | SQL;
};

/**
 * The SET of every asset write (DESIGN.md, "Versions and events"): the change, plus
 * `version + 1` and `updated_at`. Also for writes that run inside a larger D1 batch.
 */
export function versioned(set: AssetSet, now = Date.now()): AssetSet {
  const stamps = typeof set.status === "string" ? statusStamps(set.status, now) : {};
  return { updatedAt: now, ...stamps, ...set, version: sql`${assets.version} + 1` };
}

/**
 * The lifecycle timestamps of a status change to `to` (docs/operations.md, "Ops
 * metrics"), part of the SET of every write that changes the status (`versioned`).
 * Written as SQL over the row's current (old) status, so they are right whoever calls:
 * `status_at` moves only when the status does; a claim handed back (`processing →
 * uploaded`, `embedding → processed`) keeps the time the asset first reached that
 * status, so a transient failure counts inside the stage's time rather than restarting
 * it. A write may set one itself (the arrival time R2 reported, say): its value wins.
 */
export function statusStamps(
  to: AssetStatus,
  now: number,
): { statusAt: SQL; uploadedAt?: SQL; processedAt?: SQL; readyAt?: number } {
  const keepIf = (was: AssetStatus, column: SQLiteColumn) =>
    sql`CASE WHEN ${assets.status} = ${was} THEN ${column} ELSE ${now} END`;
  const stamps = { statusAt: keepIf(to, assets.statusAt) };
  if (to === "uploaded") return { ...stamps, uploadedAt: keepIf("processing", assets.uploadedAt) };
  if (to === "processed") {
    return { ...stamps, processedAt: keepIf("embedding", assets.processedAt) };
  }
  if (to === "ready") return { ...stamps, readyAt: now };
  return stamps;
}

/**
 * The one way a stage, the api or the sweeper changes an asset row: ONE conditional
 * UPDATE of the user's row that bumps `version`, then exactly ONE event built from the
 * row it returned. Returns that row, or null when the condition no longer held (another
 * actor got there first; nothing was written, nothing published).
 */
export async function writeAsset(
  lc: Lifecycle,
  assetId: string,
  condition: SQL | undefined,
  set: AssetSet,
  now = lc.now(),
): Promise<EventRow | null> {
  const [row] = await lc.store.db
    .update(assets)
    .set(versioned(set, now))
    .where(and(eq(assets.id, assetId), eq(assets.userId, lc.store.uid), condition))
    .returning(eventColumns);
  if (!row) return null;
  await publishSafely(lc.hub, [assetEvent(row)]);
  return row;
}

/**
 * A status change: applies only while the row is still in one of the `from` states (and
 * meets `also`); `error` is cleared unless the asset fails.
 */
export function transition(
  lc: Lifecycle,
  assetId: string,
  from: AssetStatus | readonly AssetStatus[],
  to: AssetStatus,
  extra: AssetSet = {},
  also?: SQL,
): Promise<EventRow | null> {
  const expected = typeof from === "string" ? [from] : [...from];
  return writeAsset(lc, assetId, and(inArray(assets.status, expected), also), {
    ...extra,
    status: to,
    error: to === "failed" ? (extra.error ?? null) : null,
  });
}

/** The row's claim is absent or older than the lease: its holder is presumed dead. */
export function claimExpired(leaseMs: number, now = Date.now()): SQL {
  return or(isNull(assets.claimedAt), lt(assets.claimedAt, now - leaseMs)) ?? sql`1`;
}

/**
 * The row holds no live claim of `claimStatus`: it is in another status, unclaimed, or its
 * claim is older than the lease. A dead-letter handler fails an asset only under this
 * condition: a message that exhausted its retries (a duplicate that kept meeting a live
 * claim, say) must not fail an asset another delivery is processing right now; if that
 * delivery dies, its lease runs out and the sweeper re-sends the asset.
 */
export function noLiveClaim(claimStatus: AssetStatus, leaseMs: number, now = Date.now()): SQL {
  return or(ne(assets.status, claimStatus), claimExpired(leaseMs, now)) ?? sql`0`;
}

/** The user's row, or null when it is gone or belongs to someone else. */
export async function ownedAsset(
  lc: Lifecycle,
  assetId: string,
): Promise<typeof assets.$inferSelect | null> {
  const [row] = await lc.store.db
    .select()
    .from(assets)
    .where(and(eq(assets.id, assetId), eq(assets.userId, lc.store.uid)));
  return row ?? null;
}
