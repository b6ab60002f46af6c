import { Hono } from "hono";
import { z } from "zod";
import { statusCounts } from "../lib/stats";
import { parseOrThrow } from "../lib/validate";
import type { AppEnv } from "../types";

export const statsRoutes = new Hono<AppEnv>().get("/", async (c) => {
  const q = parseOrThrow(z.object({ batchId: z.uuid().optional() }), c.req.query(), "query");
  return c.json(await statusCounts(c.env, c.get("uid"), q.batchId));
});
