import { and, eq, inArray, isNull, lt, ne, or, type SQL, sql } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { AssetError, AssetStatus } from "./assets";
import { assets } from "./db/schema";

export type Db = DrizzleD1Database<Record<string, never>>;

export type TransitionResult = {
  id: string;
  userId: string;
  batchId: string;
  status: AssetStatus;
  version: number;
  error: AssetError | null;
};

/** What a conditional UPDATE returns to describe the transition it made (for events). */
export const transitionColumns = {
  id: assets.id,
  userId: assets.userId,
  batchId: assets.batchId,
  status: assets.status,
  version: assets.version,
};

/**
 * The one way an asset changes state: a conditional UPDATE that only applies when the
 * row is still in one of the expected states, and bumps `version`. Returns the new row
 * (or null when another actor got there first).
 */
export async function transition(
  db: Db,
  assetId: string,
  from: AssetStatus | readonly AssetStatus[],
  to: AssetStatus,
  extra: { [K in keyof typeof assets.$inferInsert]?: (typeof assets.$inferInsert)[K] | SQL } = {},
  /** A further condition the row must meet, checked in the same UPDATE. */
  also?: SQL,
): Promise<TransitionResult | null> {
  const expected = typeof from === "string" ? [from] : [...from];
  const now = Date.now();
  const rows = await db
    .update(assets)
    .set({
      ...extra,
      ...statusStamps(to, now),
      status: to,
      version: sql`${assets.version} + 1`,
      updatedAt: now,
      error: to === "failed" ? (extra.error ?? null) : null,
    })
    .where(and(eq(assets.id, assetId), inArray(assets.status, expected), also))
    .returning({ ...transitionColumns, error: assets.error });
  const row = rows[0];
  if (!row) return null;
  return { ...row, error: parseAssetError(row.error) };
}

/**
 * The lifecycle timestamps of a status change to `to` (docs/operations.md, "Ops
 * metrics"), for the SET of the UPDATE that makes it. Written as SQL over the row's
 * current (old) status, so they are right whoever calls: `status_at` moves only when the
 * status does; a claim handed back (`processing → uploaded`, `embedding → processed`)
 * keeps the time the asset first reached that status, so a transient failure counts
 * inside the stage's time rather than restarting it.
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

export function failure(stage: AssetError["stage"], code: string, message: string): string {
  return JSON.stringify({ stage, code, message } satisfies AssetError);
}

export function parseAssetError(raw: string | null): AssetError | null {
  if (!raw) return null;
  try {
    const v: unknown = JSON.parse(raw);
    if (v && typeof v === "object" && "stage" in v && "code" in v && "message" in v) {
      const { stage, code, message } = v;
      if (
        (stage === "upload" || stage === "processing" || stage === "embedding") &&
        typeof code === "string" &&
        typeof message === "string"
      ) {
        return { stage, code, message };
      }
    }
  } catch {
    // fall through: a malformed error column is reported as unknown
  }
  return { stage: "processing", code: "unknown", message: "Unknown error" };
}
