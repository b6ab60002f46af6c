import type { AssetStore, VectorMatch } from "@darkroom/shared";
import { assets, filterOnly } from "@darkroom/shared/db";
import { and, inArray } from "drizzle-orm";
import { assetJson } from "./asset-json";

/**
 * Search and similar answers: `{ asset, score }` in match order, only the user's own
 * `ready` assets (whatever an index returned: a deleted, re-embedding or foreign id is
 * dropped here, so isolation never rests on the index alone), at most `limit`.
 */
export async function searchResults(
  env: Env,
  store: AssetStore,
  matches: readonly VectorMatch[],
  limit: number,
) {
  // One statement, well under D1's 100 bound parameters (limit ≤ 50, plus slack).
  const ids = [...new Set(matches.map((m) => m.assetId))].slice(0, 90);
  if (ids.length === 0) return [];
  const { uid } = store;
  const rows = await store.db
    .select()
    .from(assets)
    .where(
      and(
        inArray(assets.id, ids),
        filterOnly(assets.userId, uid),
        filterOnly(assets.status, "ready"),
      ),
    );
  const byId = new Map(rows.map((r) => [r.id, r]));
  const results = [];
  for (const m of matches) {
    const row = byId.get(m.assetId);
    if (!row) continue;
    byId.delete(m.assetId);
    results.push({ asset: await assetJson(row, env.MEDIA_SIGNING_SECRET), score: m.score });
    if (results.length === limit) break;
  }
  return results;
}
