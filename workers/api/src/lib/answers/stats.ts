import {
  type AssetStatus,
  assetStatusSchema,
  emptyStats,
  type StatusCounts,
  storeFor,
} from "@darkroom/shared";
import { assets, batchItems } from "@darkroom/shared/db";
import { and, count, eq, ne } from "drizzle-orm";
import { z } from "zod";

const counterRow = z.object({ status: assetStatusSchema, n: z.number() });

/** Rows of counts by status as the stats a user sees: `deleting` is no status of theirs. */
function toStats(rows: readonly { status: AssetStatus; n: number }[]): StatusCounts {
  const stats: StatusCounts = emptyStats();
  for (const r of rows) {
    if (r.status === "deleting") continue;
    stats[r.status] += r.n;
    stats.total += r.n;
  }
  return stats;
}

/**
 * The user's counts per status, from the counters the triggers of migration 0007 keep with
 * every write to `assets` (DESIGN.md, "Counters and rollups"): at most one row per status,
 * however large the library. A batch's counts are a GROUP BY over that batch's items: a
 * drop, not the library.
 */
export async function statusCounts(env: Env, uid: string, batchId?: string): Promise<StatusCounts> {
  const store = await storeFor(env, uid);
  if (!batchId) {
    const { results } = await store.d1
      .prepare("SELECT status, n FROM user_status_counts WHERE user_id = ?")
      .bind(uid)
      .all();
    return toStats(results.map((r) => counterRow.parse(r)));
  }
  const rows = await store.db
    .select({ status: assets.status, n: count() })
    .from(batchItems)
    .innerJoin(assets, eq(assets.id, batchItems.assetId))
    .where(
      and(
        eq(batchItems.batchId, batchId),
        eq(batchItems.userId, uid),
        ne(assets.status, "deleting"),
      ),
    )
    .groupBy(assets.status);
  return toStats(rows);
}
