import { env } from "cloudflare:workers";
import { aiBreaker, DEFAULT_BREAKER_POLICY } from "@darkroom/shared";
import { describe, expect, it, vi } from "vitest";
import { dbOf, everyShard } from "../../../test/workerd/shards";
import { BREAKER_STATUS_TTL_MS } from "../src/lib/bindings/breaker-status";
import { sweep } from "../src/sweeper";
import { call, makeEnv, signIn } from "./helpers";

/** The AI_BREAKER binding with a breaker of its own, so opening it pauses no other test. */
function isolatedBreaker(): DurableObjectNamespace<import("../src/index").AiBreaker> {
  const tag = crypto.randomUUID();
  return new Proxy(env.AI_BREAKER, {
    get(target, key) {
      if (key === "idFromName") return (name: string) => target.idFromName(`${tag}:${name}`);
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

async function skippedPhoto(uid: string, markedAgoMs: number): Promise<string> {
  const id = crypto.randomUUID();
  const now = Date.now();
  await (await dbOf(uid))
    .prepare(
      `INSERT INTO assets (id, user_id, batch_id, name, size, type, sha256, status, version,
       caption_skipped, redescribe_at, created_at, updated_at)
     VALUES (?, ?, ?, 'a.jpg', 10, 'image/jpeg', ?, 'ready', 5, ?, ?, ?, ?)`,
    )
    .bind(
      id,
      uid,
      crypto.randomUUID(),
      id.replaceAll("-", "").padEnd(64, "0"),
      JSON.stringify({ code: "ai_paused", message: "paused" }),
      now - markedAgoMs,
      now,
      now,
    )
    .run();
  return id;
}

describe("the AI circuit breaker, seen from the api", () => {
  it("shows its state to a signed-in caller at GET /api/stats/ai", async () => {
    const me = await signIn();
    const breaker = isolatedBreaker();
    const { env: e } = makeEnv({ AI_BREAKER: breaker });

    const res = await call("/api/stats/ai", { token: me.token, env: e });

    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      breaker: expect.objectContaining({ state: "closed", failures: [], lastFailure: null }),
    });
    vi.spyOn(console, "log").mockImplementation(() => {});
    for (let i = 0; i < DEFAULT_BREAKER_POLICY.maxFailures; i++) {
      await aiBreaker(breaker).record({ ok: false, code: "3036", message: "daily allocation" });
    }
    // The isolate answers from the status it read for a few seconds (lib/bindings/breaker-status.ts).
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + BREAKER_STATUS_TTL_MS);
    const open = await call("/api/stats/ai", { token: me.token, env: e });
    vi.useRealTimers();
    expect(await open.json()).toMatchObject({
      breaker: { state: "open", lastFailure: { code: "3036" } },
    });
    expect((await call("/api/stats/ai")).status).toBe(401);
  });

  it("re-describes photos that skipped AI only while the breaker is closed", async () => {
    const me = await signIn();
    const id = await skippedPhoto(me.uid, 1000);
    const breaker = isolatedBreaker();
    vi.spyOn(console, "log").mockImplementation(() => {});
    for (let i = 0; i < DEFAULT_BREAKER_POLICY.maxFailures; i++) {
      await aiBreaker(breaker).record({ ok: false, code: "3040", message: "out of capacity" });
    }
    const { env: e, sent } = makeEnv({ AI_BREAKER: breaker });

    expect((await sweep(e)).redescribed).toBe(0);
    await aiBreaker(breaker).record({ ok: true });
    const report = await sweep(e);

    expect(report.redescribed).toBeGreaterThanOrEqual(1);
    expect(sent).toContainEqual({
      queue: "embed",
      body: { assetId: id, uid: me.uid, redescribe: true },
    });
    // Marked for a later retry, not re-sent at every sweep.
    const row = await everyShard
      .prepare("SELECT redescribe_at FROM assets WHERE id = ?")
      .bind(id)
      .first<{ redescribe_at: number }>();
    expect(row?.redescribe_at).toBeGreaterThan(Date.now());
  });
});
