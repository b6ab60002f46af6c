import { Hono } from "hono";
import { z } from "zod";
import { requireUser } from "../auth";
import { HttpError, TooManyRequests, Unauthorized } from "../errors";
import { HUB_HEADERS } from "../hub/user-hub";
import { hubFor } from "../lib/bindings/hub";
import { limits } from "../lib/limits/limits";
import { charge, rateLimit } from "../lib/limits/rate-limit";
import { rateLimitResultSchema } from "../lib/limits/rate-limit-headers";
import { issueTicket, verifyTicket } from "../lib/signing/tickets";
import type { AppEnv } from "../types";

const connectQuery = z.object({ ticket: z.string().max(300), batchId: z.uuid().optional() });

export const eventRoutes = new Hono<AppEnv>()
  .post("/ticket", requireUser, rateLimit("tickets"), async (c) => {
    await charge(c, limits(c.env).costTicket, "event tickets");
    return c.json({ ticket: await issueTicket(c.env.TICKET_SIGNING_SECRET, c.get("uid")) });
  })
  .get("/", async (c) => {
    const q = connectQuery.safeParse(c.req.query());
    // Every refusal happens before the upgrade, as a plain HTTP answer.
    if (!q.success) throw new Unauthorized("A ticket from POST /api/events/ticket is required");
    const ticket = await verifyTicket(c.env.TICKET_SIGNING_SECRET, q.data.ticket);
    if (!ticket) throw new Unauthorized("The ticket is invalid or expired");
    if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
      throw new HttpError(426, "upgrade_required", "This endpoint speaks WebSocket only");
    }
    // Internal headers: the hub is reachable only through this binding.
    const headers = new Headers({
      Upgrade: "websocket",
      [HUB_HEADERS.uid]: ticket.uid,
      [HUB_HEADERS.nonce]: ticket.nonce,
      [HUB_HEADERS.exp]: String(ticket.exp),
    });
    if (q.data.batchId) headers.set(HUB_HEADERS.batchId, q.data.batchId);
    const res = await hubFor(c.env, ticket.uid).fetch("https://hub.internal/connect", { headers });
    if (res.status === 429) {
      // The hub's socket cap; its body is the refusal (an internal boundary, parsed all the same).
      throw new TooManyRequests(rateLimitResultSchema.parse(await res.json()), "open sockets");
    }
    if (res.status !== 101) throw new Unauthorized("The ticket has already been used");
    return res;
  });
