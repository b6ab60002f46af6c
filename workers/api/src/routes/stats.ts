import { aiBreaker } from "@darkroom/shared";
import { Hono } from "hono";
import { z } from "zod";
import { statusCounts } from "../lib/stats";
import { parseOrThrow } from "../lib/validate";
import type { AppEnv } from "../types";

export const statsRoutes = new Hono<AppEnv>()
  .get("/", async (c) => {
    const q = parseOrThrow(z.object({ batchId: z.uuid().optional() }), c.req.query(), "query");
    return c.json(await statusCounts(c.env, c.get("uid"), q.batchId));
  })
  // The AI circuit breaker of the deployment (docs/operations.md): `state` closed, open
  // or half-open, recent failures and the last one. For operators, and for a page that
  // wants to say why new photos have no caption.
  .get("/ai", async (c) => c.json({ breaker: await aiBreaker(c.env.AI_BREAKER).status() }));
