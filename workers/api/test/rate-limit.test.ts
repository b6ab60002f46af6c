import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { everyShard } from "../../../test/workerd/shards";
import { LIMITS } from "../src/lib/limits/limits";
import { TokenBucket } from "../src/lib/limits/token-bucket";
import { fileFor, jpegBytes, requestUploads, tokenFor, uidFor, userName } from "./helpers";

async function files(n: number) {
  return Promise.all(Array.from({ length: n }, () => fileFor(jpegBytes(16))));
}

// The test project sets RATE_LIMIT_CAPACITY=250 and RATE_LIMIT_REFILL_PER_MINUTE=60.
it("drains the bucket, answers 429 with Retry-After and headers, then refills", async () => {
  const user = userName();
  const token = await tokenFor(user);
  // The bucket refills 1 token a second in real time, so a slow machine may hand back a
  // few between these requests: every bound below allows exactly the seconds that passed.
  const started = Date.now();
  const refilledSince = () => Math.ceil((Date.now() - started) / 1000);
  expect((await requestUploads(token, await files(100))).res.status).toBe(200);
  expect((await requestUploads(token, await files(100))).res.status).toBe(200);

  const refused = await requestUploads(token, await files(100));
  expect(refused.res.status).toBe(429);
  const slack = refilledSince();
  // 50 tokens left (plus what refilled meanwhile), 100 needed, 1 token per second.
  const remaining = Number(refused.res.headers.get("RateLimit-Remaining"));
  expect(remaining).toBeGreaterThanOrEqual(50);
  expect(remaining).toBeLessThanOrEqual(50 + slack);
  expect(refused.res.headers.get("X-RateLimit-Remaining")).toBe(String(remaining));
  expect(Number(refused.res.headers.get("Retry-After"))).toBeGreaterThanOrEqual(49 - slack);
  expect(Number(refused.res.headers.get("Retry-After"))).toBeLessThanOrEqual(51);
  expect(refused.res.headers.get("RateLimit-Limit")).toBe("250");
  expect(Number(refused.res.headers.get("RateLimit-Reset"))).toBeGreaterThan(190 - slack);
  const body: { error: { code: string } } = await refused.res.json();
  expect(body.error.code).toBe("rate_limited");

  // A refused request wrote nothing and took nothing.
  const n = await everyShard
    .sum("SELECT COUNT(*) AS n FROM assets WHERE user_id = ?")
    .bind(await uidFor(user))
    .first<{ n: number }>();
  expect(n?.n).toBe(200);
  const smaller = await requestUploads(token, await files(50));
  expect(smaller.res.status).toBe(200);
  expect(Number(smaller.res.headers.get("RateLimit-Remaining"))).toBeLessThanOrEqual(
    refilledSince(),
  );

  // Two minutes later the bucket has refilled by 120 tokens.
  const stub = env.USER_HUB.get(env.USER_HUB.idFromName(await uidFor(user)));
  await runInDurableObject(stub, (_hub, state) => {
    state.storage.sql.exec(
      "UPDATE buckets SET refilled_at = refilled_at - 120000 WHERE name = 'work'",
    );
  });
  await evictDurableObject(stub);
  const later = await requestUploads(token, await files(100));
  expect(later.res.status).toBe(200);
  expect(Number(later.res.headers.get("RateLimit-Remaining"))).toBeGreaterThanOrEqual(19);
});

it("keeps one user's bucket apart from another's", async () => {
  const a = await tokenFor(userName());
  const b = await tokenFor(userName());
  await requestUploads(a, await files(100));
  await requestUploads(a, await files(100));
  await requestUploads(a, await files(50));
  // 100 more than a spent bucket can have refilled in the seconds this test takes.
  expect((await requestUploads(a, await files(100))).res.status).toBe(429);
  expect((await requestUploads(b, await files(1))).res.status).toBe(200);
});

describe("the default token bucket", () => {
  it("never refuses one person's 2,000-photo drop sent as fast as possible", () => {
    const capacity = LIMITS.workCapacity.default;
    const refillPerMinute = LIMITS.workRefillPerMinute.default;
    const bucket = new TokenBucket(capacity, refillPerMinute, capacity, 0);
    for (let i = 0; i < 20; i++) expect(bucket.take(100, i * 10).allowed).toBe(true);
  });

  it("holds a runaway script to the refill rate once the bucket is spent", () => {
    const capacity = LIMITS.workCapacity.default;
    const refillPerMinute = LIMITS.workRefillPerMinute.default;
    const bucket = new TokenBucket(capacity, refillPerMinute, capacity, 0);
    let accepted = 0;
    // 100 requests of 100 files within one minute.
    for (let i = 0; i < 100; i++) if (bucket.take(100, i * 600).allowed) accepted += 100;
    expect(accepted).toBeLessThanOrEqual(capacity + refillPerMinute);
    expect(accepted).toBeGreaterThanOrEqual(capacity);
  });
});
