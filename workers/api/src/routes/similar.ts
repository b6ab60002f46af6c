import { MAX_SEARCH_LIMIT, similarAssets, storeFor } from "@darkroom/shared";
import { Hono } from "hono";
import { z } from "zod";
import { Conflict } from "../errors";
import { searchResults } from "../lib/answers/search-results";
import { parseOrThrow } from "../lib/http/validate";
import { limits } from "../lib/limits/limits";
import { charge, rateLimit } from "../lib/limits/rate-limit";
import { ownedAsset } from "../lib/owned-asset";
import type { AppEnv } from "../types";

const similarQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_SEARCH_LIMIT).default(20),
});

/**
 * GET /api/assets/:id/similar?limit=: the user's ready photos nearest to this one's
 * embedding, best first. A search like routes/search.ts (same bucket, same cost, same
 * result shape), mounted under /api/assets because its subject is one asset.
 */
export const similarRoutes = new Hono<AppEnv>().get(
  "/:id/similar",
  rateLimit("search"),
  async (c) => {
    const q = parseOrThrow(similarQuery, c.req.query(), "query");
    const uid = c.get("uid");
    const row = await ownedAsset(c.env, uid, c.req.param("id"));
    await charge(c, limits(c.env).costSearch, "searches");
    const store = await storeFor(c.env, uid);
    const matches = await similarAssets(c.env, store, row.id, q.limit);
    if (!matches) {
      throw new Conflict("not_searchable", `The asset is ${row.status}, not searchable yet`);
    }
    return c.json({ results: await searchResults(c.env, store, matches, q.limit) });
  },
);
