import { announceObject } from "@darkroom/shared";
import { Hono } from "hono";
import { z } from "zod";
import { devToken, requireUser } from "../auth";
import { NotFound } from "../errors";
import { limitBody, SMALL_BODY_BYTES } from "../lib/body-limit";
import { config } from "../lib/config";
import { hubFor } from "../lib/hub";
import { parseOrThrow } from "../lib/validate";
import type { AppEnv } from "../types";

/**
 * Local helpers: sign-in (a user name in, an HS256 token out) and stand-ins for what
 * wrangler dev lacks. Absent (404) unless DEV_LOGIN=true; every route but the sign-in
 * itself also requires a user, so even where they exist nobody reaches them anonymously.
 */
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
 * Local stand-in for R2's event notification, which wrangler dev does not emulate: with
 * UPLOAD_MODE=r2 (`DARKROOM_UPLOAD_MODE=r2 npm run dev`) the browser PUTs straight into
 * the local bucket through its S3 endpoint, and whoever watched that PUT succeed (the
 * production-path browser test) posts the object's key here. It sends the message R2
 * would send for the object as it is in the bucket, and nothing for a key with no object.
 * Any signed-in user may post: locally the one who PUT is the one who notifies.
 */
devRoutes.post("/r2-notification", requireUser, async (c) => {
  const body = parseOrThrow(
    z.object({ key: z.string().min(1).max(1024) }),
    await c.req.json().catch(() => null),
    "notification body",
  );
  const note = await announceObject(c.env, body.key);
  if (!note) throw new NotFound("The bucket has no object with this key");
  return c.json(note, 202);
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
