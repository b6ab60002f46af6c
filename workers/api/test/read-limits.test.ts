import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { BREAKER_STATUS_TTL_MS, cachedBreakerStatus } from "../src/lib/bindings/breaker-status";
import { LIMITS } from "../src/lib/limits/limits";
import { call, drainBucket, makeEnv, signIn } from "./helpers";

/**
 * The real AI_BREAKER binding with a breaker of its own (a fresh name, so no other test's
 * cache entry or state is shared), counting the status reads that reach the object.
 */
function countedBreaker(opts: { failFirst?: boolean } = {}) {
  const tag = crypto.randomUUID();
  const reads = { n: 0 };
  let fail = opts.failFirst ?? false;
  const ns = new Proxy(env.AI_BREAKER, {
    get(target, key) {
      if (key === "idFromName") return (name: string) => target.idFromName(`${tag}:${name}`);
      if (key === "get") {
        return (id: DurableObjectId) => {
          const stub = target.get(id);
          return {
            status: (now: number) => {
              reads.n += 1;
              if (fail) {
                fail = false;
                return Promise.reject(new Error("the object is restarting"));
              }
              return stub.status(now);
            },
          };
        };
      }
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { ns, reads };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("the breaker's status, cached per isolate", () => {
  it("is read once per TTL, whatever the number of callers", async () => {
    const { ns, reads } = countedBreaker();
    const t = 1_000_000;
    const first = await cachedBreakerStatus(ns, t);
    expect(first.state).toBe("closed");
    await cachedBreakerStatus(ns, t + 1);
    await cachedBreakerStatus(ns, t + BREAKER_STATUS_TTL_MS - 1);
    expect(reads.n).toBe(1);
    await cachedBreakerStatus(ns, t + BREAKER_STATUS_TTL_MS);
    expect(reads.n).toBe(2);
  });

  it("shares one read among callers that come while it is in flight", async () => {
    const { ns, reads } = countedBreaker();
    const all = await Promise.all(Array.from({ length: 10 }, () => cachedBreakerStatus(ns, 5)));
    expect(reads.n).toBe(1);
    expect(new Set(all).size).toBe(1);
  });

  it("keeps no failed read, and no answer when the clock goes back", async () => {
    const { ns, reads } = countedBreaker({ failFirst: true });
    await expect(cachedBreakerStatus(ns, 100)).rejects.toThrow("restarting");
    await cachedBreakerStatus(ns, 101);
    expect(reads.n).toBe(2);
    await cachedBreakerStatus(ns, 50);
    expect(reads.n).toBe(3);
  });

  it("answers a burst of GET /api/stats/ai with one read of the breaker", async () => {
    const { token } = await signIn();
    const { ns, reads } = countedBreaker();
    const { env: e } = makeEnv({ AI_BREAKER: ns });
    // One instant for the whole burst: the TTL is never what the assertion races.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now());
    for (let i = 0; i < 20; i++) {
      const res = await call("/api/stats/ai", { token, env: e });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ breaker: { state: "closed" } });
    }
    expect(reads.n).toBe(1);
  });
});

describe("GET /api/stats", () => {
  it("costs a token of the reads bucket, and is refused with 429 when it is spent", async () => {
    const { token, uid } = await signIn();
    const ok = await call("/api/stats", { token });
    expect(ok.status).toBe(200);
    const capacity = LIMITS.readCapacity.default;
    expect(ok.headers.get("RateLimit-Policy")).toBe(
      `"reads";q=${capacity};w=${(capacity * 60) / LIMITS.readRefillPerMinute.default}`,
    );
    // signIn read it once, and this once (the bucket refills meanwhile: at most full less one).
    expect(Number(ok.headers.get("RateLimit-Remaining"))).toBeLessThanOrEqual(capacity - 1);

    await drainBucket(uid, "reads");
    const refused = await call("/api/stats", { token });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({
      error: { code: "rate_limited", details: { policy: "reads" } },
    });
    // A batch's counts are the same kind of read.
    const batch = await call(`/api/stats?batchId=${crypto.randomUUID()}`, { token });
    expect(batch.status).toBe(429);
  });
});
