import { emptyStats, type StatusCounts } from "@darkroom/shared";
import { assets, batchItems } from "@darkroom/shared/db";
import { and, count, eq, ne } from "drizzle-orm";
import { db } from "../bindings/db";

/** Counts per status in one GROUP BY, for the user or one of their batches. */
export async function statusCounts(env: Env, uid: string, batchId?: string): Promise<StatusCounts> {
  const d = db(env);
  const rows = batchId
    ? await d
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
        .groupBy(assets.status)
    : await d
        .select({ status: assets.status, n: count() })
        .from(assets)
        .where(and(eq(assets.userId, uid), ne(assets.status, "deleting")))
        .groupBy(assets.status);
  const stats: StatusCounts = emptyStats();
  for (const r of rows) {
    if (r.status === "deleting") continue;
    stats[r.status] += r.n;
    stats.total += r.n;
  }
  return stats;
}
