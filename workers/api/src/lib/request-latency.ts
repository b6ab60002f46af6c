import { type LatencySeries, writeLatency } from "@darkroom/shared";
import { requestTimings } from "@darkroom/shared/db";
import { createMiddleware } from "hono/factory";
import { routePath } from "hono/route";
import type { AppEnv } from "../types";
import { db } from "./db";

/**
 * Times each API request inside the worker (auth included, like Server-Timing) and
 * writes it to Analytics Engine in production (`METRICS`; packages/shared/src/telemetry.ts).
 * The routes of KEPT also keep their time in D1's `request_timings`, for the ops metrics
 * offline: one small INSERT after the answer (`waitUntil`, so the client never waits for
 * it), pruned by the sweeper to the longest metrics window. Only latencies operators
 * watch are kept: upload registration, one row per request of up to 100 files.
 */
const KEPT: Record<string, LatencySeries> = { "POST /api/uploads": "upload_registration" };

export function requestLatency() {
  return createMiddleware<AppEnv>(async (c, next) => {
    const at = Date.now();
    await next();
    const ms = Date.now() - at;
    const status = c.res.status;
    // The route as registered (`/api/assets/:id`), never the concrete path: bounded blobs.
    const what = `${c.req.method} ${routePath(c, -1)}`;
    writeLatency(c.env.METRICS, { series: "request", what, status, ms });
    const keep = KEPT[what];
    if (keep) {
      const row = { route: keep, at, durationMs: ms, status };
      c.executionCtx.waitUntil(
        db(c.env)
          .insert(requestTimings)
          .values(row)
          .run()
          .catch((err) => console.error("request timing not kept", String(err))),
      );
    }
  });
}
