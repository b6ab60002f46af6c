import {
  aiBreaker,
  type BreakerView,
  crossUserStores,
  directoryOf,
  failureStageSchema,
  lifecycleTimings,
  type OpsMetrics,
  opsWindowNames,
  storeOfAsset,
} from "@darkroom/shared";
import { assets } from "@darkroom/shared/db";
import { and, asc, count, eq, gte, lt, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { NotFound } from "../errors";
import { assetJson } from "../lib/answers/asset-json";
import { config, UPLOAD_URL_TTL_SECONDS } from "../lib/config/config";
import { parseOrThrow } from "../lib/http/validate";
import { limits } from "../lib/limits/limits";
import { rateLimit } from "../lib/limits/rate-limit";
import { retriesPerCall, retryPaid } from "../lib/limits/retry-budget";
import { opsMetrics, stageTimeouts } from "../ops/metrics";
import { PROMETHEUS_CONTENT_TYPE, toPrometheus } from "../ops/prometheus";
import type { AppEnv } from "../types";
import { opsUserRoutes } from "./ops-users";

const metricsQuery = z.object({
  since: z.enum(opsWindowNames).default("1h"),
  format: z.enum(["json", "prometheus"]).default("json"),
});

const retryBody = z.object({ stage: failureStageSchema, code: z.string().min(1).max(100) });

/** The AI circuit breaker's state (docs/operations.md, "Workers AI: the circuit breaker"). */
async function breakerView(env: Env): Promise<BreakerView> {
  const b = await aiBreaker(env.AI_BREAKER).status();
  return {
    state: b.state,
    changedAt: b.changedAt,
    lastFailure: b.lastFailure ? `${b.lastFailure.code}: ${b.lastFailure.message}` : null,
  };
}

/** Operator routes; `requireOperator` in front of them answers 404 to everyone else. */
export const opsRoutes = new Hono<AppEnv>()
  .route("/users", opsUserRoutes)
  .get("/metrics", async (c) => {
    const q = parseOrThrow(metricsQuery, c.req.query(), "query");
    const cfg = config(c.env);
    const timeouts = stageTimeouts(lifecycleTimings(c.env), {
      urlTtlSeconds: UPLOAD_URL_TTL_SECONDS,
      graceSeconds: cfg.PENDING_GRACE_SECONDS,
    });
    const [base, breaker] = await Promise.all([
      // Every database holding assets, read on its own and merged (ops/metrics.ts).
      opsMetrics(
        // The directory too: it keeps the operator-wide request timings and sweep runs.
        [...crossUserStores(c.env).map((s) => s.d1), directoryOf(c.env).d1],
        q.since,
        timeouts,
      ),
      breakerView(c.env),
    ]);
    const metrics: OpsMetrics = { ...base, breaker };
    // Live numbers: never from a cache.
    c.header("Cache-Control", "no-store");
    if (q.format === "prometheus") {
      return c.body(toPrometheus(metrics), 200, { "Content-Type": PROMETHEUS_CONTENT_TYPE });
    }
    return c.json(metrics);
  })
  .get("/assets/:id", async (c) => {
    const id = c.req.param("id");
    if (!z.uuid().safeParse(id).success) throw new NotFound("No such asset");
    // Any user's asset: the shard that has it (storeOfAsset asks each).
    const store = await storeOfAsset(c.env, id);
    const [row] = store ? await store.db.select().from(assets).where(eq(assets.id, id)) : [];
    if (!row) throw new NotFound("No such asset");
    return c.json({
      ...(await assetJson(row, c.env.MEDIA_SIGNING_SECRET)),
      userId: row.userId,
      statusAt: row.statusAt,
      retries: row.retries,
      sweeps: row.sweeps,
      sweptAt: row.sweptAt,
    });
  })
  // "Retry all with this code": failed assets of every user whose failure has this stage
  // and code, oldest first, through the same paid retry as a user's retry-failed (the
  // operator's work bucket pays per asset; each asset's retry cap holds).
  .post("/retry", rateLimit("work"), async (c) => {
    const raw: unknown = await c.req.json().catch(() => undefined);
    const body = parseOrThrow(retryBody, raw, "body");
    const lim = limits(c.env);
    const withCode = and(
      eq(assets.status, "failed"),
      eq(sql`json_extract(${assets.error}, '$.stage')`, body.stage),
      eq(sql`json_extract(${assets.error}, '$.code')`, body.code),
    );
    const perCall = retriesPerCall(lim);
    // Every shard's oldest failures, then the oldest of them all.
    const parts = await Promise.all(
      crossUserStores(c.env).map(async ({ db: d }) => {
        const [failed, [spent]] = await Promise.all([
          d
            .select()
            .from(assets)
            .where(and(withCode, lt(assets.retries, lim.maxRetries)))
            .orderBy(asc(assets.statusAt))
            .limit(perCall),
          d
            .select({ n: count() })
            .from(assets)
            .where(and(withCode, gte(assets.retries, lim.maxRetries))),
        ]);
        return { failed, spent: spent?.n ?? 0 };
      }),
    );
    const failed = parts
      .flatMap((p) => p.failed)
      .sort((a, b) => (a.statusAt ?? 0) - (b.statusAt ?? 0))
      .slice(0, perCall);
    const retryLimitReached = parts.reduce((n, p) => n + p.spent, 0);
    return c.json({ ...(await retryPaid(c, failed, lim)), retryLimitReached });
  });
