// `npm run dev:prod` only: the stand-in for R2's event notifications, which local R2 does
// not send. A worker production never has: scripts/lib/parity-config.mjs writes its config
// beside the generated ones, no committed wrangler.toml names it, so `npm run deploy`
// cannot ship it. It runs in a wrangler process of its own on 127.0.0.1, because in one
// `wrangler dev -c … -c …` only the first config is served on the port, the others only
// through bindings (https://developers.cloudflare.com/workers/development-testing/multi-workers/).
// Its queue producer reaches the processor's `uploads` consumer in the stack's process
// through wrangler's dev registry (the registry entry lists the consumer's queues;
// measured with wrangler 4.164: the processor consumes what the bridge sends). Every
// request needs its bearer token (BRIDGE_TOKEN, random per state dir), else 401. It
// cannot read the bucket: scripts/lib/r2-bridge-poller.mjs lists it through the S3
// endpoint and posts here.
//
// POST /notify {key, size, eTag}  sends the uploads queue the message R2 sends for that
//                                 object (packages/shared objectCreatedNotification)
import { objectCreatedNotification } from "@darkroom/shared";
import { z } from "zod";

const notifyBody = z.object({
  key: z.string().min(1).max(1024),
  size: z.number().int().nonnegative(),
  eTag: z.string().min(1).max(200),
});

/** Compares in constant time, so the token cannot be guessed byte by byte. */
function sameSecret(given, expected) {
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(expected);
  return a.length === b.length && crypto.subtle.timingSafeEqual(a, b);
}

export default {
  /** @param {Request} request @param {{ UPLOADS_QUEUE: Queue, BRIDGE_TOKEN?: string, BUCKET_NAME: string }} env */
  async fetch(request, env) {
    const token = /^Bearer (\S+)$/.exec(request.headers.get("Authorization") ?? "")?.[1] ?? "";
    if (!env.BRIDGE_TOKEN || !sameSecret(token, env.BRIDGE_TOKEN)) {
      return Response.json({ error: "unauthorized" }, { status: 401 });
    }
    const { pathname } = new URL(request.url);
    if (request.method !== "POST" || pathname !== "/notify") {
      return Response.json({ error: "not found" }, { status: 404 });
    }
    const body = notifyBody.safeParse(await request.json().catch(() => null));
    if (!body.success) return Response.json({ error: "bad body" }, { status: 400 });
    const { key, size, eTag } = body.data;
    const note = objectCreatedNotification(env.BUCKET_NAME, key, { size, etag: eTag });
    await env.UPLOADS_QUEUE.send(note);
    return Response.json(note, { status: 202 });
  },
};
