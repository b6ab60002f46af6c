import { env } from "cloudflare:workers";
import { aiBreaker, DEFAULT_BREAKER_POLICY, searchText } from "@darkroom/shared";
import { afterEach, describe, expect, it, vi } from "vitest";
import { recordingQueue } from "../../../test/workerd/queue-helpers";
import { dbOf } from "../../../test/workerd/shards";
import { redescribeSkipped } from "../../api/src/sweep-redescribe";
import { runEmbedding } from "../src/process-embed";
import {
  assetRow,
  type Delivery,
  deliver,
  EMBED,
  embedMessage,
  isolatedBreaker,
  labelsOf,
  processedAsset,
  searchData,
  seedUser,
  withAi,
} from "./helpers";

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

function skipped(row: { caption_skipped: string | null } | null): {
  code: string;
  message: string;
} {
  return JSON.parse(row?.caption_skipped ?? "null");
}

const quiet = () => {
  vi.spyOn(console, "warn").mockImplementation(() => {});
  vi.spyOn(console, "error").mockImplementation(() => {});
};

describe("an AI failure never keeps a photo from becoming searchable", () => {
  it("makes a photo ready without a caption when the caption model was removed, and says why", async () => {
    quiet();
    const user = await seedUser();
    const assetId = await processedAsset(user, "waterfall.thumb.webp", { name: "iguazu.jpg" });
    const { env: e } = withAi(env.AI_TEST_DOUBLE_CAPTION_MODEL_REMOVED);

    const result = await deliver(EMBED, [{ id: "m", body: embedMessage(user.uid, assetId) }], e);

    expect(result.explicitAcks).toEqual(["m"]);
    expect(result.retryMessages).toEqual([]);
    const row = await assetRow(assetId);
    expect(row).toMatchObject({
      status: "ready",
      caption: null,
      redescribe_at: expect.any(Number),
    });
    expect(skipped(row)).toEqual({
      code: "ai_model_unavailable",
      message: expect.stringContaining("5007: No such model @cf/moondream/moondream3.1-9B-A2B"),
    });
    // The labeller still answered: its labels are kept and embedded.
    expect(labelsOf(row).slice(0, 2)).toEqual(["waterfall", "valley"]);
    expect(await searchData(assetId)).toEqual({
      features: 1,
      docs: 1,
      descriptorVectors: 1,
      textVectors: 1,
    });
    expect(
      (await searchText(await dbOf(user.uid), user.uid, "iguazu", 10)).map((m) => m.assetId),
    ).toEqual([assetId]);
    // It counts against the provider.
    expect((await aiBreaker(e.AI_BREAKER).status()).failures).toHaveLength(1);
  });

  it("makes a photo ready without AI when the daily allocation is used up (3036), without retrying", async () => {
    quiet();
    const user = await seedUser();
    const assetId = await processedAsset(user, "park.thumb.webp", { name: "sunday.jpg" });
    const { env: e } = withAi(env.AI_TEST_DOUBLE_DAILY_ALLOCATION_EXHAUSTED);

    const result = await deliver(
      EMBED,
      [{ id: "m", body: embedMessage(user.uid, assetId), attempts: 1 }],
      e,
    );

    expect(result.explicitAcks).toEqual(["m"]);
    expect(result.retryMessages).toEqual([]);
    const row = await assetRow(assetId);
    expect(row).toMatchObject({
      status: "ready",
      caption: null,
      error: null,
      redescribe_at: expect.any(Number),
    });
    expect(skipped(row)).toEqual({
      code: "ai_daily_allocation_exhausted",
      message: expect.stringContaining("3036: You have used up your daily free allocation"),
    });
    // Colours from the visual descriptor; no AI labels, no text vector.
    expect(labelsOf(row).length).toBeGreaterThan(0);
    expect(await searchData(assetId)).toEqual({
      features: 1,
      docs: 1,
      descriptorVectors: 1,
      textVectors: 0,
    });
    expect(
      (await searchText(await dbOf(user.uid), user.uid, "sunday", 10)).map((m) => m.assetId),
    ).toEqual([assetId]);
  });

  it("never sends an empty text to the embedder: an empty caption and no labels skip the text vector", async () => {
    quiet();
    const user = await seedUser();
    const assetId = await processedAsset(user, "concert.thumb.webp");
    const { env: e, calls } = withAi(env.AI_TEST_DOUBLE_SAYS_NOTHING);

    const result = await deliver(EMBED, [{ id: "m", body: embedMessage(user.uid, assetId) }], e);

    expect(result.explicitAcks).toEqual(["m"]);
    const row = await assetRow(assetId);
    expect(row).toMatchObject({ status: "ready", caption: null, redescribe_at: null });
    expect(skipped(row)).toMatchObject({ code: "caption_empty" });
    expect(calls.map((c) => c.model).sort()).toEqual([
      "@cf/microsoft/resnet-50",
      "@cf/moondream/moondream3.1-9B-A2B",
    ]);
    expect(await searchData(assetId)).toMatchObject({ descriptorVectors: 1, textVectors: 0 });
    // A model that says nothing is not a failing provider.
    expect((await aiBreaker(e.AI_BREAKER).status()).failures).toEqual([]);
  });

  it("sends the caption model its documented input: a WebP data URI, the caption task, no stream", async () => {
    const user = await seedUser();
    const assetId = await processedAsset(user, "saw.thumb.webp");
    const { env: e, calls } = withAi(env.AI_TEST_DOUBLE);

    await runEmbedding(e, embedMessage(user.uid, assetId));

    const caption = calls.find((c) => c.model === "@cf/moondream/moondream3.1-9B-A2B");
    expect(caption?.inputs).toEqual({
      task: "caption",
      image: expect.stringMatching(/^data:image\/webp;base64,[A-Za-z0-9+/]+=*$/),
      caption_length: "short",
      stream: false,
      max_tokens: 64,
    });
    expect(await assetRow(assetId)).toMatchObject({
      caption: "A man cutting a wooden board with a circular saw",
      caption_skipped: null,
      redescribe_at: null,
    });
  });

  it("uses the models the deployment names", async () => {
    quiet();
    const user = await seedUser();
    const assetId = await processedAsset(user, "saw.thumb.webp");
    const { env: base, calls } = withAi(env.AI_TEST_DOUBLE);
    const e = { ...base, AI_CAPTION_MODEL: "@cf/example/captioner-9" };

    await runEmbedding(e, embedMessage(user.uid, assetId));

    expect(calls.map((c) => c.model)).toContain("@cf/example/captioner-9");
    // The double knows no such model: 5007, the removed-model path.
    expect(skipped(await assetRow(assetId))).toMatchObject({ code: "ai_model_unavailable" });
    const another = await processedAsset(user, "saw.thumb.webp");
    const badModel = { ...base, AI_LABEL_MODEL: "resnet" };
    await expect(runEmbedding(badModel, embedMessage(user.uid, another))).rejects.toThrow(
      /AI_LABEL_MODEL/,
    );
  });
});

describe("the AI circuit breaker", () => {
  /** Delivers one embed message of a new photo; returns the asset id. */
  async function embedOne(e: Env, user: { uid: string; batchId: string }, attempts = 1) {
    const assetId = await processedAsset(user, "waterfall.thumb.webp");
    const msg: Delivery = { id: assetId, body: embedMessage(user.uid, assetId), attempts };
    const result = await deliver(EMBED, [msg], e);
    return { assetId, result };
  }

  it("opens after 5 failures within the hour; while open no AI call is made and photos go on without AI", async () => {
    quiet();
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const breaker = isolatedBreaker();
    const failing = withAi(env.AI_TEST_DOUBLE_RATE_LIMITED, breaker);
    const user = await seedUser();

    for (let i = 0; i < DEFAULT_BREAKER_POLICY.maxFailures; i++) {
      const { result } = await embedOne(failing.env, user);
      // 429 out of capacity: transient, retried with backoff.
      expect(result.retryMessages).toHaveLength(1);
    }
    const status = await aiBreaker(breaker).status();
    expect(status).toMatchObject({ state: "open", lastFailure: { code: "3040" } });
    expect(log).toHaveBeenCalledWith(expect.stringContaining('"event":"ai_breaker_transition"'));
    const line = JSON.parse(String(log.mock.calls.at(-1)?.[0]));
    expect(line).toMatchObject({ from: "closed", to: "open", lastFailure: { code: "3040" } });

    const calls = failing.calls.length;
    const { assetId, result } = await embedOne(failing.env, user);

    expect(failing.calls).toHaveLength(calls);
    expect(result.explicitAcks).toEqual([assetId]);
    const row = await assetRow(assetId);
    expect(row).toMatchObject({
      status: "ready",
      caption: null,
      redescribe_at: expect.any(Number),
    });
    expect(skipped(row)).toMatchObject({ code: "ai_paused" });
  });

  it("forgets failures older than an hour", async () => {
    quiet();
    const breaker = aiBreaker(isolatedBreaker());
    const t0 = Date.now();
    const failure = { ok: false, code: "3040", message: "out of capacity" } as const;
    for (let i = 0; i < 4; i++) await breaker.record(failure, t0 + i);
    const later = t0 + DEFAULT_BREAKER_POLICY.windowMs + 10;

    expect(await breaker.record(failure, later)).toMatchObject({
      state: "closed",
      failures: [later],
    });
  });

  it("half-opens after the cool-down for exactly one probe, and re-opens when the probe fails", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const breaker = aiBreaker(isolatedBreaker());
    const t0 = Date.now();
    const failure = { ok: false, code: "3036", message: "daily allocation" } as const;
    for (let i = 0; i < 5; i++) await breaker.record(failure, t0);

    expect(await breaker.acquire(t0 + DEFAULT_BREAKER_POLICY.openMs - 1)).toBe("skip");
    const t1 = t0 + DEFAULT_BREAKER_POLICY.openMs;
    expect(await breaker.acquire(t1)).toBe("probe");
    expect(await breaker.acquire(t1 + 1)).toBe("skip");
    expect((await breaker.status(t1)).state).toBe("half-open");

    expect(await breaker.record(failure, t1 + 2)).toMatchObject({
      state: "open",
      openedAt: t1 + 2,
    });
    expect(await breaker.acquire(t1 + 3)).toBe("skip");
    const transitions = log.mock.calls.map((c) => JSON.parse(String(c[0])));
    expect(transitions.map((t) => `${t.from}→${t.to}`)).toEqual([
      "closed→open",
      "open→half-open",
      "half-open→open",
    ]);
  });

  it("closes when the probe succeeds; the re-describe rule then describes the photos that skipped AI", async () => {
    quiet();
    vi.spyOn(console, "log").mockImplementation(() => {});
    const breaker = isolatedBreaker();
    const user = await seedUser();
    const exhausted = withAi(env.AI_TEST_DOUBLE_DAILY_ALLOCATION_EXHAUSTED, breaker);
    const skippedIds: string[] = [];
    for (let i = 0; i < DEFAULT_BREAKER_POLICY.maxFailures + 1; i++) {
      skippedIds.push((await embedOne(exhausted.env, user)).assetId);
    }
    expect((await aiBreaker(breaker).status()).state).toBe("open");
    const queue = recordingQueue();
    const rule = {
      DIRECTORY: env.DIRECTORY,
      DB_SHARDS: env.DB_SHARDS,
      DB_0: env.DB_0,
      DB_1: env.DB_1,
      BUCKET: env.BUCKET,
      USER_HUB: env.USER_HUB,
      AI_BREAKER: breaker,
      EMBED_QUEUE: queue,
    };

    // Open: nothing is re-sent.
    expect(await redescribeSkipped(rule)).toBe(0);

    // The cool-down passes; the next photo is the probe, and the provider answers again.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + DEFAULT_BREAKER_POLICY.openMs);
    const healthy = withAi(env.AI_TEST_DOUBLE, breaker);
    const probe = await embedOne(healthy.env, user);
    expect(await assetRow(probe.assetId)).toMatchObject({
      status: "ready",
      caption: "A waterfall in a tropical forest",
    });
    expect((await aiBreaker(breaker).status()).state).toBe("closed");

    // Every skipped photo of the deployment (other tests' too), in one bounded batch.
    expect(await redescribeSkipped(rule)).toBeGreaterThanOrEqual(skippedIds.length);
    expect(queue.sent.map((m) => m.body)).toEqual(
      expect.arrayContaining(
        skippedIds.map((assetId) => ({ assetId, uid: user.uid, redescribe: true })),
      ),
    );
    // Marks were pushed ahead: the next sweep does not send them again.
    expect(await redescribeSkipped(rule)).toBe(0);

    const result = await deliver(
      EMBED,
      queue.sent.map((m, i) => ({ id: `r${i}`, body: m.body })),
      healthy.env,
    );
    expect(result.explicitAcks).toHaveLength(queue.sent.length);
    for (const assetId of skippedIds) {
      const row = await assetRow(assetId);
      expect(row).toMatchObject({
        status: "ready",
        caption: "A waterfall in a tropical forest",
        caption_skipped: null,
        redescribe_at: null,
      });
      expect(labelsOf(row).slice(0, 2)).toEqual(["waterfall", "valley"]);
      expect(await searchData(assetId)).toMatchObject({ textVectors: 1 });
    }
  });
});
