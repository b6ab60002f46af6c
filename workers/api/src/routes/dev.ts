import { Hono } from "hono";
import { z } from "zod";
import { devToken, requireUser } from "../auth";
import { NotFound } from "../errors";
import { limitBody, SMALL_BODY_BYTES } from "../lib/body-limit";
import { config } from "../lib/config";
import { hubFor } from "../lib/hub";
import { parseOrThrow } from "../lib/validate";
import type { AppEnv } from "../types";

/** Local sign-in: a user name in, an HS256 token out. Absent unless DEV_LOGIN=true. */
export const devRoutes = new Hono<AppEnv>();

devRoutes.use("*", async (c, next) => {
  if (!config(c.env).devLogin) throw new NotFound();
  await next();
});

devRoutes.post("/login", limitBody(SMALL_BODY_BYTES), async (c) => {
  const body = parseOrThrow(
    z.object({ user: z.string().trim().min(1).max(100) }),
    await c.req.json().catch(() => null),
    "login body",
  );
  return c.json({ token: await devToken(c.env.AUTH_SECRET, body.user) });
});

/**
 * For `npm run bench:hub` only: publishes synthetic asset events to the caller's own hub
 * in chunks, each event's `version` set to the publish time in ms, so clients can
 * measure publish-to-receive latency against the same clock.
 */
devRoutes.post("/publish-burst", limitBody(SMALL_BODY_BYTES), requireUser, async (c) => {
  const body = parseOrThrow(
    z.object({
      count: z.number().int().min(1).max(100_000),
      chunk: z.number().int().min(1).max(1000),
      /** Pause between chunks: 0 floods the hub (throughput), > 0 paces it (latency). */
      intervalMs: z.number().int().min(0).max(10_000).default(0),
    }),
    await c.req.json().catch(() => null),
    "burst body",
  );
  const hub = hubFor(c.env, c.get("uid"));
  const assetId = crypto.randomUUID();
  const started = Date.now();
  for (let sent = 0; sent < body.count; sent += body.chunk) {
    const n = Math.min(body.chunk, body.count - sent);
    const now = Date.now();
    const events = Array.from({ length: n }, () => ({
      assetId,
      batchId: null,
      status: "processing" as const,
      version: now,
    }));
    await hub.publish(events);
    if (body.intervalMs > 0) await scheduler.wait(body.intervalMs);
  }
  return c.json({ published: body.count, ms: Date.now() - started });
});
