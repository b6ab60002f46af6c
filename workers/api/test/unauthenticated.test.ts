import { describe, expect, it } from "vitest";
import { everyShard } from "../../../test/workerd/shards";
import { devToken } from "../src/auth";
import { meteredEnv } from "./cost-meter";
import { call, countedBody, json, productionEnv, tokenFor, userName } from "./helpers";

const MB = 1024 * 1024;

async function rows(table: "request_timings" | "users"): Promise<number> {
  const r = await everyShard.sum(`SELECT COUNT(*) AS n FROM ${table}`).first<{ n: number }>();
  return r?.n ?? 0;
}

const file = {
  clientId: "a",
  name: "a.jpg",
  size: 10,
  type: "image/jpeg",
  sha256: "ab".repeat(32),
};

/** A bearer token that is not ours: the right shape, another secret. */
const forged = () => devToken("not-the-secret", userName());

/** Every way to send no valid token: none, not a JWT, and a JWT signed by someone else. */
async function withoutValidTokens(): Promise<(string | undefined)[]> {
  return [undefined, "not-a-jwt", await forged()];
}

describe("requests without a valid token", () => {
  it("a loop of unauthenticated POST /api/uploads writes no row and calls no binding", async () => {
    const { env: metered, calls } = meteredEnv();
    const timings = await rows("request_timings");
    const users = await rows("users");
    for (let i = 0; i < 10; i++) {
      for (const token of await withoutValidTokens()) {
        const res = await call("/api/uploads", json({ files: [file] }, { token, env: metered }));
        expect(res.status).toBe(401);
        expect(await res.json()).toMatchObject({ error: { code: "unauthorized" } });
      }
    }
    expect(await rows("request_timings")).toBe(timings);
    expect(await rows("users")).toBe(users);
    expect(calls).toEqual([]);
  });

  it("refuses a chunked upload body without a token before reading any of it", async () => {
    const { env: metered, calls } = meteredEnv();
    const { stream, pulled } = countedBody(60 * MB);
    const res = await call("/api/uploads", {
      method: "POST",
      body: stream,
      headers: { "Content-Type": "application/json" },
      env: metered,
    });
    expect(res.status).toBe(401);
    // At most what the stream buffered ahead (one chunk), not the 768 KiB the limit reads.
    expect(pulled.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(calls).toEqual([]);
  });

  it("every other /api route refuses them before touching D1, R2, a queue or a Durable Object", async () => {
    const { env: metered, calls } = meteredEnv();
    const id = crypto.randomUUID();
    const future = Math.floor(Date.now() / 1000) + 3600;
    const routes: { path: string; init: RequestInit; status: number }[] = [
      { path: "/api/stats", init: {}, status: 401 },
      { path: `/api/stats?batchId=${id}`, init: {}, status: 401 },
      { path: "/api/stats/ai", init: {}, status: 401 },
      { path: "/api/assets", init: {}, status: 401 },
      { path: `/api/assets/${id}`, init: {}, status: 401 },
      { path: `/api/assets/${id}`, init: { method: "DELETE" }, status: 401 },
      { path: `/api/assets/${id}/retry`, init: { method: "POST" }, status: 401 },
      { path: "/api/assets/retry-failed", init: { method: "POST" }, status: 401 },
      { path: `/api/assets/${id}/similar`, init: {}, status: 401 },
      { path: "/api/search?q=cat", init: {}, status: 401 },
      { path: "/api/events/ticket", init: { method: "POST" }, status: 401 },
      {
        path: "/api/events?ticket=forged",
        init: { headers: { Upgrade: "websocket" } },
        status: 401,
      },
      // Ops routes hide themselves: a 404 like a missing route.
      { path: "/api/ops/metrics", init: {}, status: 404 },
      { path: "/api/ops/retry", init: { method: "POST", body: "{}" }, status: 404 },
      // Signed media: the signature is its token.
      { path: `/api/media/${id}/original?exp=${future}&sig=forged`, init: {}, status: 403 },
    ];
    const timings = await rows("request_timings");
    const users = await rows("users");
    for (const token of await withoutValidTokens()) {
      for (const { path, init, status } of routes) {
        const res = await call(path, { ...init, token, env: metered });
        expect({ path, token, status: res.status }).toEqual({ path, token, status });
      }
    }
    expect(await rows("request_timings")).toBe(timings);
    expect(await rows("users")).toBe(users);
    expect(calls).toEqual([]);
  });

  it("in production, the local upload and dev routes answer 404 before touching anything", async () => {
    const { env: metered, calls } = meteredEnv(productionEnv().env);
    const id = crypto.randomUUID();
    const put = await call(`/api/local-upload/${id}?exp=1&sig=forged`, {
      method: "PUT",
      body: "x",
      env: metered,
    });
    expect(put.status).toBe(404);
    const note = await call("/api/dev/r2-notification", json({ key: "k" }, { env: metered }));
    expect(note.status).toBe(404);
    expect(calls).toEqual([]);
  });

  it("a user's upload registration is timed: one Analytics Engine point and one D1 row", async () => {
    const { env: metered, calls } = meteredEnv();
    const token = await tokenFor(userName());
    const timings = await rows("request_timings");
    const res = await call("/api/uploads", json({ files: [file] }, { token, env: metered }));
    expect(res.status).toBe(200);
    expect(calls.filter((c) => c === "METRICS.writeDataPoint")).toHaveLength(1);
    expect(await rows("request_timings")).toBe(timings + 1);
  });
});
