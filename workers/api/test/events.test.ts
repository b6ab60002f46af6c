import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { AssetEventInput, ServerFrame } from "@darkroom/shared";
import { describe, expect, it } from "vitest";
import { everyShard } from "../../../test/workerd/shards";
import { EVENTS_KEPT } from "../src/hub/user-hub";
import { issueTicket } from "../src/lib/signing/tickets";
import { connect, ticketFor } from "./event-client";
import {
  call,
  fileFor,
  jpegBytes,
  requestUploads,
  signIn,
  tokenFor,
  uidFor,
  userName,
} from "./helpers";

function hubOf(uid: string) {
  return env.USER_HUB.get(env.USER_HUB.idFromName(uid));
}

function event(
  assetId: string,
  status: AssetEventInput["status"],
  version: number,
): AssetEventInput {
  return { assetId, batchId: null, status, version };
}

const isAsset = (f: ServerFrame) => f.type === "asset";

describe("GET /api/events", () => {
  it("greets a new socket with hello carrying the seq and the user's stats from D1", async () => {
    const user = userName();
    const token = await tokenFor(user);
    await requestUploads(token, [await fileFor(jpegBytes()), await fileFor(jpegBytes())]);
    const c = await connect(token);
    const [hello] = await c.count(1);
    expect(hello).toMatchObject({ type: "hello", stats: { total: 2, pending: 2 } });
    expect(hello?.type === "hello" && hello.seq).toBe(2);
  });

  it("streams an asset's stages in order with increasing seq and version", async () => {
    const user = userName();
    const token = await tokenFor(user);
    const c = await connect(token);
    await c.count(1);
    const { body } = await requestUploads(token, [await fileFor(jpegBytes())]);
    const assetId = body.files[0]?.assetId ?? "";
    const hub = hubOf(await uidFor(user));
    for (const [i, s] of (
      ["uploaded", "processing", "processed", "embedding", "ready"] as const
    ).entries()) {
      await hub.publish(event(assetId, s, i + 2));
    }
    await c.waitFor((f) => f.type === "asset" && f.status === "ready");
    const assets = c.frames.filter(isAsset);
    expect(assets.map((f) => f.type === "asset" && f.status)).toEqual([
      "pending",
      "uploaded",
      "processing",
      "processed",
      "embedding",
      "ready",
    ]);
    const seqs = assets.map((f) => f.type === "asset" && f.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => Number(a) - Number(b)));
    expect(assets[0]).toMatchObject({ assetId, batchId: body.batchId, version: 1 });
  });

  it("sends every event to each of a user's sockets and none to another user's", async () => {
    const alice = userName();
    const aToken = await tokenFor(alice);
    const tab1 = await connect(aToken);
    const tab2 = await connect(aToken);
    const bob = await connect(await tokenFor(userName()));
    await Promise.all([tab1.count(1), tab2.count(1), bob.count(1)]);
    const id = crypto.randomUUID();
    await hubOf(await uidFor(alice)).publish([
      event(id, "uploaded", 2),
      event(id, "processing", 3),
    ]);
    await tab1.waitFor((f) => f.type === "asset" && f.status === "processing");
    await tab2.waitFor((f) => f.type === "asset" && f.status === "processing");
    // Give a wrongly-routed frame time to arrive before asserting its absence.
    await new Promise((r) => setTimeout(r, 200));
    expect(bob.frames.filter(isAsset)).toEqual([]);
  });

  it("replays exactly the missed events, in order, on resume after a reconnect", async () => {
    const { token, uid } = await signIn();
    const hub = hubOf(uid);
    const id = crypto.randomUUID();
    const first = await connect(token);
    await first.count(1);
    await hub.publish([event(id, "uploaded", 2), event(id, "processing", 3)]);
    const seen = await first.waitFor((f) => f.type === "asset" && f.status === "processing");
    const lastSeq = seen.type === "asset" ? seen.seq : -1;
    first.ws.close(1000, "tab closed");

    await hub.publish([
      event(id, "processed", 4),
      event(id, "embedding", 5),
      event(id, "ready", 6),
    ]);
    const second = await connect(token);
    const [hello] = await second.count(1);
    expect(hello?.type === "hello" && hello.seq).toBe(lastSeq + 3);
    second.ws.send(JSON.stringify({ type: "resume", since: lastSeq }));
    await second.count(4);
    expect(second.frames.slice(1).map((f) => f.type === "asset" && [f.seq, f.status])).toEqual([
      [lastSeq + 1, "processed"],
      [lastSeq + 2, "embedding"],
      [lastSeq + 3, "ready"],
    ]);
    await new Promise((r) => setTimeout(r, 100));
    expect(second.frames.filter(isAsset)).toHaveLength(3);
  });

  it("answers a resume older than the kept events with reset", async () => {
    const { token, uid } = await signIn();
    const hub = hubOf(uid);
    const id = crypto.randomUUID();
    for (let i = 0; i < EVENTS_KEPT + 1000; i += 1000) {
      await hub.publish(Array.from({ length: 1000 }, (_, j) => event(id, "processing", i + j)));
    }
    const c = await connect(token);
    await c.count(1);
    c.ws.send(JSON.stringify({ type: "resume", since: 5 }));
    const reset = await c.waitFor((f) => f.type === "reset");
    expect(reset).toEqual({ type: "reset", seq: EVENTS_KEPT + 1000 });
  });

  it("answers a malformed client frame with an error frame and keeps the socket", async () => {
    const user = userName();
    const token = await tokenFor(user);
    const c = await connect(token);
    await c.count(1);
    for (const bad of [
      "not json",
      JSON.stringify({ type: "resume", since: -1 }),
      JSON.stringify({ type: "shout" }),
    ]) {
      c.ws.send(bad);
    }
    await c.count(4);
    expect(c.frames.slice(1).map((f) => f.type)).toEqual(["error", "error", "error"]);
    await hubOf(await uidFor(user)).publish(event(crypto.randomUUID(), "uploaded", 2));
    await c.waitFor(isAsset);
  });

  it("keeps per-socket state across hibernation", async () => {
    const user = userName();
    const token = await tokenFor(user);
    const { body } = await requestUploads(token, [await fileFor(jpegBytes())]);
    const c = await connect(token, body.batchId);
    await c.waitFor((f) => f.type === "stats" && f.batchId === body.batchId);
    const hub = hubOf(await uidFor(user));
    await hub.publish(event(body.files[0]?.assetId ?? "", "uploaded", 2));
    await c.waitFor(isAsset);

    await evictDurableObject(hub);
    // A frame wakes the object from hibernation; the attachment still knows the batch
    // and the hello seq, so a resume replays from the kept events.
    c.ws.send(JSON.stringify({ type: "resume", since: 0 }));
    const replayStart = c.frames.length;
    await c.waitFor((f) => f.type === "asset" && f.seq === 1, replayStart);
    await everyShard
      .prepare("UPDATE assets SET status = 'uploaded' WHERE id = ?")
      .bind(body.files[0]?.assetId)
      .run();
    await hub.publish(event(body.files[0]?.assetId ?? "", "processing", 3));
    expect(await runDurableObjectAlarm(hub)).toBe(true);
    const batchStats = await c.waitFor(
      (f) => f.type === "stats" && f.batchId === body.batchId && f.stats.uploaded === 1,
    );
    expect(batchStats).toMatchObject({ stats: { total: 1, uploaded: 1 } });
  });

  it("coalesces stats: a burst of events gives one stats frame computed from D1", async () => {
    const user = userName();
    const token = await tokenFor(user);
    await requestUploads(token, [await fileFor(jpegBytes())]);
    const c = await connect(token);
    await c.count(1);
    const hub = hubOf(await uidFor(user));
    for (let i = 0; i < 50; i++) await hub.publish(event(crypto.randomUUID(), "uploaded", 2));
    expect(await runDurableObjectAlarm(hub)).toBe(true);
    const stats = await c.waitFor((f) => f.type === "stats");
    // D1 knows one pending asset; the 50 synthetic events do not make counters drift.
    expect(stats).toMatchObject({ type: "stats", stats: { total: 1, pending: 1 } });
    await new Promise((r) => setTimeout(r, 100));
    expect(c.frames.filter((f) => f.type === "stats")).toHaveLength(1);
  });
});

describe("event tickets", () => {
  it("refuses a reused ticket before any upgrade", async () => {
    const token = await tokenFor(userName());
    const ticket = await ticketFor(token);
    const url = `/api/events?ticket=${encodeURIComponent(ticket)}`;
    expect((await call(url, { headers: { Upgrade: "websocket" } })).status).toBe(101);
    const again = await call(url, { headers: { Upgrade: "websocket" } });
    expect(again.status).toBe(401);
    expect(again.webSocket).toBeNull();
  });

  it("refuses a missing, forged or expired ticket with 401", async () => {
    const { uid } = await signIn();
    const expired = await issueTicket(env.TICKET_SIGNING_SECRET, uid, Date.now() - 61_000);
    const forged = await issueTicket("another-secret", uid);
    // Tickets have their own key: one signed with the bearer-token secret is a forgery too.
    const withAuthSecret = await issueTicket(env.AUTH_SECRET, uid);
    for (const q of [
      "",
      `?ticket=${expired}`,
      `?ticket=${forged}`,
      `?ticket=${withAuthSecret}`,
      "?ticket=a.b.c.d",
    ]) {
      const res = await call(`/api/events${q}`, { headers: { Upgrade: "websocket" } });
      expect(res.status, q).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: "unauthorized" } });
    }
  });

  it("requires a bearer token to get a ticket", async () => {
    expect((await call("/api/events/ticket", { method: "POST" })).status).toBe(401);
  });

  it("answers a plain GET with a valid ticket with 426", async () => {
    const ticket = await ticketFor(await tokenFor(userName()));
    expect((await call(`/api/events?ticket=${encodeURIComponent(ticket)}`)).status).toBe(426);
  });
});
