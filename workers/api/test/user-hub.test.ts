import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { EVENTS_KEPT } from "../src/hub/user-hub";

function hub() {
  return env.USER_HUB.get(env.USER_HUB.idFromName(crypto.randomUUID()));
}

const base = { batchId: null, status: "uploaded" as const, version: 2 };

describe("UserHub.publish", () => {
  it("numbers events per user in order and returns them after a given seq", async () => {
    const h = hub();
    const ids = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    const seqs = [];
    for (const assetId of ids.slice(0, 2)) seqs.push(await h.publish({ ...base, assetId }));
    seqs.push(await h.publish([{ ...base, assetId: ids[2] ?? "" }]));
    expect(seqs).toEqual([
      { ok: true, seq: 1 },
      { ok: true, seq: 2 },
      { ok: true, seq: 3 },
    ]);
    const { events, gap } = await h.eventsSince(1);
    expect(gap).toBe(false);
    expect(events.map((e) => [e.type, e.seq, e.assetId])).toEqual([
      ["asset", 2, ids[1]],
      ["asset", 3, ids[2]],
    ]);
  });

  it("refuses a malformed event instead of storing it", async () => {
    const h = hub();
    expect(await h.publish({ ...base, assetId: "not-a-uuid" })).toMatchObject({ ok: false });
    const bad = await h.publish([
      { ...base, assetId: crypto.randomUUID() },
      { ...base, assetId: crypto.randomUUID(), status: "exploded" as unknown as "ready" },
    ]);
    expect(bad).toMatchObject({ ok: false, error: expect.stringContaining("status") });
    expect((await h.eventsSince(0)).events).toEqual([]);
  });

  it("keeps the last events and reports a gap for a resume point older than that", async () => {
    const h = hub();
    const assetId = crypto.randomUUID();
    const total = EVENTS_KEPT + 1000;
    for (let i = 0; i < total; i += 500) {
      await h.publish(
        Array.from({ length: 500 }, (_, j) => ({ ...base, assetId, version: i + j })),
      );
    }
    const recent = await h.eventsSince(total - 10);
    expect(recent.gap).toBe(false);
    expect(recent.events.map((e) => e.seq)).toEqual(
      Array.from({ length: 10 }, (_, i) => total - 9 + i),
    );
    expect((await h.eventsSince(0)).gap).toBe(true);
    expect((await h.eventsSince(total - EVENTS_KEPT)).gap).toBe(false);
  }, 120_000);
});
