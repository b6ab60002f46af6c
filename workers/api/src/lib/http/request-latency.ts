import { directoryOf, type LatencySeries, writeLatency } from "@darkroom/shared";
import { requestTimings } from "@darkroom/shared/db";
import { createMiddleware } from "hono/factory";
import { routePath } from "hono/route";
import type { AppEnv } from "../../types";

/**
 * Times each API request inside the worker (auth included, like Server-Timing) and
 * writes it to Analytics Engine in production (`METRICS`; packages/shared/src/telemetry.ts).
 * The routes of KEPT also keep their time in D1's `request_timings`, for the ops metrics
 * offline: one small INSERT after the answer (`waitUntil`, so the client never waits for
 * it), pruned by the sweeper to the longest metrics window. Only latencies operators
 * watch are kept: upload registration, one row per request of up to 100 files.
 */
const KEPT: Record<string, LatencySeries> = { "POST /api/uploads": "upload_registration" };

/**
 * Mounted on `/api/*` before auth, so the time includes it; it writes only once the request
 * turned out to have a user (`uid`, set by `requireUser`/`requireOperator`, or by a signed
 * media URL for the asset's owner). A request refused before that (no token, a bad one, a
 * body too large, a bad signature) and one that needs none (health) write nothing at all,
 * neither a D1 row in the database every user shares nor an Analytics Engine point: a
 * loop of them costs the token check and nothing else (test/unauthenticated.test.ts).
 * Cloudflare's own Workers metrics still count every request and its status.
 */
export function requestLatency() {
  return createMiddleware<AppEnv>(async (c, next) => {
    const at = Date.now();
    await next();
    if (c.get("uid") === undefined) return;
    const ms = Date.now() - at;
    const status = c.res.status;
    // The route as registered (`/api/assets/:id`), never the concrete path: bounded blobs.
    const what = `${c.req.method} ${routePath(c, -1)}`;
    writeLatency(c.env.METRICS, { series: "request", what, status, ms });
    const keep = KEPT[what];
    if (keep) {
      const row = { route: keep, at, durationMs: ms, status };
      c.executionCtx.waitUntil(
        // Operator-wide: kept in the directory (DESIGN.md, "Sharding").
        directoryOf(c.env)
          .db.insert(requestTimings)
          .values(row)
          .run()
          .catch((err) => console.error("request timing not kept", String(err))),
      );
    }
  });
}
