import { Hono } from "hono";
import { z } from "zod";
import { statusCounts } from "../lib/answers/stats";
import { cachedBreakerStatus } from "../lib/bindings/breaker-status";
import { parseOrThrow } from "../lib/http/validate";
import { limits } from "../lib/limits/limits";
import { charge, rateLimit } from "../lib/limits/rate-limit";
import type { AppEnv } from "../types";

export const statsRoutes = new Hono<AppEnv>()
  // A GROUP BY over the user's library (or a batch): its cost grows with it, so it costs
  // a token of the user's "reads" bucket (lib/limits/limits.ts) before D1 is asked.
  .get("/", rateLimit("reads"), async (c) => {
    const q = parseOrThrow(z.object({ batchId: z.uuid().optional() }), c.req.query(), "query");
    await charge(c, limits(c.env).costStats, "stats reads");
    return c.json(await statusCounts(c.env, c.get("uid"), q.batchId));
  })
  // The AI circuit breaker of the deployment (docs/operations.md): `state` closed, open
  // or half-open, recent failures and the last one. For operators, and for a page that
  // wants to say why new photos have no caption. Read through the isolate's short cache
  // (lib/bindings/breaker-status.ts), not from the deployment's one breaker object per request.
  .get("/ai", async (c) => c.json({ breaker: await cachedBreakerStatus(c.env.AI_BREAKER) }));
