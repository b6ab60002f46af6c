import { describe, expect, it } from "vitest";
import { AiTestDouble, asAiBinding } from "../../../packages/shared/test/ai-test-double";
import { VectorizeTestDouble } from "../../../packages/shared/test/vectorize-test-double";
import { shardIndexes } from "../../../test/workerd/shards";
import { LIMITS } from "../src/lib/limits/limits";
import { call, drainBucket, fileFor, jpegBytes, makeEnv, requestUploads, signIn } from "./helpers";
import { readyAsset } from "./search-helpers";

const CAPACITY = LIMITS.searchCapacity.default;
const REFILL = LIMITS.searchRefillPerMinute.default;

describe("search rate limit", () => {
  it("charges each search a token of the user's search bucket and says so in the headers", async () => {
    const me = await signIn();
    const res = await call("/api/search?q=beach", { token: me.token });
    expect(res.status).toBe(200);
    expect(res.headers.get("RateLimit-Policy")).toBe(
      `"search";q=${CAPACITY};w=${(CAPACITY * 60) / REFILL}`,
    );
    expect(res.headers.get("RateLimit")).toMatch(new RegExp(`^"search";r=${CAPACITY - 1};t=\\d$`));
  });

  it("refuses a search without tokens with 429 before the query is embedded", async () => {
    const me = await signIn();
    const ai = new AiTestDouble();
    const { env: e } = makeEnv({
      AI: asAiBinding(ai),
      ...shardIndexes({ text: new VectorizeTestDouble(768, { immediate: true }) }),
    });
    await drainBucket(me.uid, "search");
    const res = await call("/api/search?q=beach", { token: me.token, env: e });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("Retry-After"))).toBe(Math.ceil(60 / REFILL));
    expect(res.headers.get("RateLimit")).toBe(`"search";r=0;t=${Math.ceil(60 / REFILL)}`);
    const body: { error: { code: string; message: string } } = await res.json();
    expect(body.error).toMatchObject({ code: "rate_limited" });
    expect(body.error.message).toMatch(/^Too many searches/);
    expect(ai.calls).toEqual([]);
  });

  it("draws `similar` from the same bucket", async () => {
    const me = await signIn();
    const id = await readyAsset(me.uid, { name: "a.jpg" });
    await drainBucket(me.uid, "search");
    const res = await call(`/api/assets/${id}/similar`, { token: me.token });
    expect(res.status).toBe(429);
    expect(res.headers.get("RateLimit-Policy")).toMatch(/^"search";/);
  });

  it("keeps uploads going when searches are spent, and searches when uploads are", async () => {
    const me = await signIn();
    await drainBucket(me.uid, "search");
    const up = await requestUploads(me.token, [await fileFor(jpegBytes())]);
    expect(up.res.status).toBe(200);
    await drainBucket(me.uid, "work");
    expect((await requestUploads(me.token, [await fileFor(jpegBytes())])).res.status).toBe(429);
    const other = await signIn();
    await drainBucket(other.uid, "work");
    expect((await call("/api/search?q=x", { token: other.token })).status).toBe(200);
  });
});
