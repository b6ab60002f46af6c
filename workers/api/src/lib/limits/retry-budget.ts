import {
  type AssetStore,
  lifecycleOn,
  parseAssetError,
  retryFailed,
  storeFor,
} from "@darkroom/shared";
import { assets, batchItems, filterOnly } from "@darkroom/shared/db";
import { and, count, eq, gte, inArray, lt, sql } from "drizzle-orm";
import type { Context } from "hono";
import { Conflict } from "../../errors";
import type { AppEnv } from "../../types";
import { chunks } from "../bindings/db";
import type { Limits } from "./limits";
import { charge } from "./rate-limit";

type Row = typeof assets.$inferSelect;

/** Failed assets one `retry-failed` call sends back at most. */
export const RETRY_FAILED_MAX = 500;

/**
 * Retries are capped per asset (`MAX_RETRIES_PER_ASSET`): a photo that always fails
 * would otherwise be reprocessed (R2 reads, decoding, AI) for as long as someone asks.
 * Past the cap the photo stays `failed`; deleting it frees its hash for a new upload,
 * which costs a new file's token like any other.
 */
export function retryLimitReached(row: Pick<Row, "retries" | "error">, maxRetries: number) {
  const last = parseAssetError(row.error);
  return new Conflict(
    "retry_limit_reached",
    `This photo failed again after ${row.retries} retries, the most one photo gets` +
      `${last ? ` (last error: ${last.code})` : ""}. Delete it to upload it anew.`,
    { retries: row.retries, maxRetries },
  );
}

/** `retry-failed` when every failed photo it could pick has used its retries. */
export function allRetryLimitsReached(n: number, maxRetries: number) {
  return new Conflict(
    "retry_limit_reached",
    `${n} failed photo(s) have had the most retries one photo gets (${maxRetries}). Delete them to upload them anew.`,
    { retryLimitReached: n, maxRetries },
  );
}

/**
 * The user's failed assets (of one batch, or all) that a `retry-failed` call sends back,
 * and how many others are past their cap. Those are counted, never picked: they would
 * crowd out the retryable ones. A call is paid in full or refused, so it never picks more
 * than the work bucket can hold.
 */
export async function failedToRetry(
  env: Env,
  uid: string,
  batchId: string | undefined,
  lim: Limits,
): Promise<{ failed: Row[]; retryLimitReached: number }> {
  const d = (await storeFor(env, uid)).db;
  const perCall = retriesPerCall(lim);
  const failedIn = (retryable: boolean) =>
    and(
      eq(assets.userId, uid),
      eq(assets.status, "failed"),
      retryable ? lt(assets.retries, lim.maxRetries) : gte(assets.retries, lim.maxRetries),
    );
  if (!batchId) {
    const [failed, [spent]] = await Promise.all([
      d.select().from(assets).where(failedIn(true)).limit(perCall),
      d.select({ n: count() }).from(assets).where(failedIn(false)),
    ]);
    return { failed, retryLimitReached: spent?.n ?? 0 };
  }
  const inBatch = and(eq(batchItems.batchId, batchId), eq(batchItems.userId, uid));
  const [rows, [spent]] = await Promise.all([
    d
      .select({ asset: assets })
      .from(batchItems)
      .innerJoin(assets, eq(assets.id, batchItems.assetId))
      .where(and(inBatch, failedIn(true)))
      .limit(perCall),
    d
      .select({ n: count() })
      .from(batchItems)
      .innerJoin(assets, eq(assets.id, batchItems.assetId))
      .where(and(inBatch, failedIn(false))),
  ]);
  return { failed: rows.map((r) => r.asset), retryLimitReached: spent?.n ?? 0 };
}

/**
 * Counts one retry for each asset still `failed` and under the cap, in one conditional
 * statement per 90 ids (D1 binds at most 100 parameters), before the retry runs: two
 * concurrent retries cannot both take an asset's last one. Returns the ids it counted.
 */
export async function countRetries(
  store: AssetStore,
  ids: string[],
  maxRetries: number,
): Promise<Set<string>> {
  const d = store.db;
  const counted = new Set<string>();
  for (const part of chunks(ids, 90)) {
    const rows = await d
      .update(assets)
      .set({ retries: sql`${assets.retries} + 1` })
      .where(
        and(
          inArray(assets.id, part),
          filterOnly(assets.userId, store.uid),
          filterOnly(assets.status, "failed"),
          lt(assets.retries, maxRetries),
        ),
      )
      .returning({ id: assets.id });
    for (const r of rows) counted.add(r.id);
  }
  return counted;
}

/** Gives back a retry counted for an asset that then changed before it was sent back. */
export async function uncountRetry(store: AssetStore, id: string): Promise<void> {
  await store.db
    .update(assets)
    .set({ retries: sql`${assets.retries} - 1` })
    .where(and(eq(assets.id, id), eq(assets.userId, store.uid), sql`${assets.retries} > 0`));
}

/**
 * The one paid retry of many failed assets: a user's `retry-failed` and an operator's
 * "retry all with this code" (routes/ops.ts) both come here. The caller's work bucket
 * pays `costRetry` per asset before anything is sent back; each asset's retry counts
 * against its cap first (one lost to a concurrent retry is skipped, and one that
 * changed meanwhile gives its count back).
 */
export async function retryPaid(
  c: Context<AppEnv>,
  failed: Row[],
  lim: Limits,
): Promise<{ requeued: number; reupload: number; skipped: number }> {
  await charge(c, failed.length * lim.costRetry, "retries");
  const outcomes = { requeued: 0, reupload: 0, skipped: 0 };
  // An operator's retry spans users, so shards: each user's rows go to their store.
  const byUser = new Map<string, Row[]>();
  for (const r of failed) byUser.set(r.userId, [...(byUser.get(r.userId) ?? []), r]);
  for (const [uid, rows] of byUser) {
    const store = await storeFor(c.env, uid);
    const counted = await countRetries(
      store,
      rows.map((r) => r.id),
      lim.maxRetries,
    );
    for (const row of rows) {
      if (!counted.has(row.id)) {
        outcomes.skipped += 1;
        continue;
      }
      const outcome = await retryFailed(c.env, lifecycleOn(c.env, store), row);
      if (outcome === "skipped") await uncountRetry(store, row.id);
      outcomes[outcome] += 1;
    }
  }
  return outcomes;
}

/** How many failed assets one paid retry call picks: what the work bucket can hold. */
export function retriesPerCall(lim: Limits): number {
  return lim.costRetry > 0
    ? Math.max(1, Math.min(RETRY_FAILED_MAX, Math.floor(lim.workCapacity / lim.costRetry)))
    : RETRY_FAILED_MAX;
}
