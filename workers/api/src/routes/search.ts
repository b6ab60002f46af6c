import {
  MAX_SEARCH_LIMIT,
  MAX_SEARCH_QUERY_LENGTH,
  searchAssets,
  storeFor,
} from "@darkroom/shared";
import { Hono } from "hono";
import { z } from "zod";
import { searchResults } from "../lib/answers/search-results";
import { parseOrThrow } from "../lib/http/validate";
import { limits } from "../lib/limits/limits";
import { charge, rateLimit } from "../lib/limits/rate-limit";
import type { AppEnv } from "../types";

const searchQuery = z.object({
  q: z.string().trim().min(1).max(MAX_SEARCH_QUERY_LENGTH),
  limit: z.coerce.number().int().min(1).max(MAX_SEARCH_LIMIT).default(20),
});

/**
 * GET /api/search?q=&limit=: the user's ready photos matching the query, best first.
 * `mode` says how: `semantic` (AI bound: the query is embedded like the captions) or
 * `text` (FTS5 over file names, EXIF words, labels and captions). docs/search.md.
 */
export const searchRoutes = new Hono<AppEnv>().get("/", rateLimit("search"), async (c) => {
  const q = parseOrThrow(searchQuery, c.req.query(), "query");
  // Before the query is embedded: in production that is a billed Workers AI call.
  await charge(c, limits(c.env).costSearch, "searches");
  // Only the user's shard: its D1 and its Vectorize indexes.
  const store = await storeFor(c.env, c.get("uid"));
  const { mode, matches } = await searchAssets(c.env, store, q.q, q.limit);
  return c.json({ mode, results: await searchResults(c.env, store, matches, q.limit) });
});
