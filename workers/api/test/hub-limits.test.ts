import { env } from "cloudflare:workers";
import type { AssetEventInput } from "@darkroom/shared";
import { describe, expect, it } from "vitest";
import {
  MAX_CLIENT_FRAME_BYTES,
  POLICY_VIOLATION,
  SOCKET_RETRY_AFTER_SECONDS,
} from "../src/hub/user-hub";
import { LIMITS } from "../src/lib/limits/limits";
import { connect, ticketFor } from "./event-client";
import { call, drainBucket, signIn } from "./helpers";

function hubOf(uid: string) {
  return env.USER_HUB.get(env.USER_HUB.idFromName(uid));
}

function events(n: number): AssetEventInput[] {
  const assetId = crypto.randomUUID();
  return Array.from({ length: n }, (_, i) => ({
    assetId,
    batchId: null,
    status: "processing",
    version: i + 1,
  }));
}

describe("hub limits", () => {
  it("refuses a ticket without tokens with 429, Retry-After and RateLimit headers", async () => {
    const { token, uid } = await signIn();
    const ok = await call("/api/events/ticket", { method: "POST", token });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("RateLimit-Policy")).toBe(
      `"tickets";q=${LIMITS.ticketCapacity.default};w=${(LIMITS.ticketCapacity.default * 60) / LIMITS.ticketRefillPerMinute.default}`,
    );
    await drainBucket(uid, "tickets");
    const res = await call("/api/events/ticket", { method: "POST", token });
    expect(res.status).toBe(429);
    const wait = Math.ceil(60 / LIMITS.ticketRefillPerMinute.default);
    expect(res.headers.get("Retry-After")).toBe(String(wait));
    expect(res.headers.get("RateLimit")).toBe(`"tickets";r=0;t=${wait}`);
    expect(await res.json()).toMatchObject({
      error: { code: "rate_limited", message: `Too many event tickets; try again in ${wait} s` },
    });
  });

  it("refuses a socket over the per-user cap with 429 before spending its ticket", async () => {
    const { token } = await signIn();
    const max = LIMITS.maxSockets.default;
    const open = [];
    for (let i = 0; i < max; i++) open.push(await connect(token));
    const ticket = await ticketFor(token);
    const url = `/api/events?ticket=${encodeURIComponent(ticket)}`;
    const refused = await call(url, { headers: { Upgrade: "websocket" } });
    expect(refused.status).toBe(429);
    expect(refused.webSocket).toBeNull();
    expect(refused.headers.get("Retry-After")).toBe(String(SOCKET_RETRY_AFTER_SECONDS));
    expect(refused.headers.get("RateLimit-Policy")).toBe(`"sockets";q=${max}`);
    expect(refused.headers.get("RateLimit")).toBe(`"sockets";r=0;t=${SOCKET_RETRY_AFTER_SECONDS}`);
    expect(await refused.json()).toMatchObject({ error: { code: "rate_limited" } });

    // A tab closes: the same ticket, not spent by the refusal, now gets its socket.
    const first = open[0];
    first?.ws.close(1000, "tab closed");
    // The hub learns of the close asynchronously: ask again until it has (a refusal does
    // not spend the ticket), however slow the machine, rather than after a fixed sleep.
    let later = await call(url, { headers: { Upgrade: "websocket" } });
    for (let i = 0; later.status === 429 && i < 200; i++) {
      await new Promise((r) => setTimeout(r, 25));
      later = await call(url, { headers: { Upgrade: "websocket" } });
    }
    expect(later.status).toBe(101);
    for (const c of open.slice(1)) c.ws.close(1000, "done");
  });

  it("closes a socket that sends frames past the per-minute budget with 1008", async () => {
    const { token } = await signIn();
    const c = await connect(token);
    await c.count(1);
    const closed = new Promise<CloseEvent>((resolve) => c.ws.addEventListener("close", resolve));
    const budget = LIMITS.frameCapacity.default;
    // Resumes from the present replay nothing: within the budget nothing answers them.
    for (let i = 0; i <= budget; i++) c.ws.send(JSON.stringify({ type: "resume", since: 0 }));
    const event = await closed;
    expect(event.code).toBe(POLICY_VIOLATION);
    expect(event.reason).toBe(
      `Too many frames; reconnect in ${Math.ceil(60 / LIMITS.frameRefillPerMinute.default)} s`,
    );
    // Closed, not answered: no error frame woke the client either.
    expect(c.frames.filter((f) => f.type === "error")).toEqual([]);
  });

  it("refuses an oversized client frame without parsing it", async () => {
    const { token } = await signIn();
    const c = await connect(token);
    await c.count(1);
    c.ws.send(`{"type":"resume","since":0,"pad":"${"x".repeat(MAX_CLIENT_FRAME_BYTES)}"}`);
    expect(await c.waitFor((f) => f.type === "error")).toMatchObject({
      code: "frame_too_large",
    });
    c.ws.close(1000, "done");
  });

  it("replays at most RESUME_MAX_EVENTS on one resume and answers a longer gap with reset", async () => {
    const { token, uid } = await signIn();
    const hub = hubOf(uid);
    const max = LIMITS.resumeMaxEvents.default;
    await hub.publish(events(max + 500));
    const c = await connect(token);
    await c.count(1);
    c.ws.send(JSON.stringify({ type: "resume", since: 0 }));
    expect(await c.waitFor((f) => f.type === "reset")).toEqual({ type: "reset", seq: max + 500 });
    const from = c.frames.length;
    c.ws.send(JSON.stringify({ type: "resume", since: 500 }));
    const last = await c.waitFor((f) => f.type === "asset" && f.seq === max + 500, from, 10_000);
    expect(last.type).toBe("asset");
    expect(c.frames.slice(from).filter((f) => f.type === "asset")).toHaveLength(max);
    c.ws.close(1000, "done");
  });
});
