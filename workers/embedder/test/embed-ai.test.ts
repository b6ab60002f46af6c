import { env } from "cloudflare:workers";
import { searchAssets, storeFor } from "@darkroom/shared";
import { afterEach, describe, expect, it, vi } from "vitest";
import { messageLines } from "../../../test/workerd/queue-helpers";
import { runEmbedding } from "../src/process-embed";
import {
  assetRow,
  deliver,
  EMBED,
  embedMessage,
  hubEvents,
  labelsOf,
  processedAsset,
  searchData,
  seedUser,
  withAi,
} from "./helpers";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("embedding with the AI binding (through its test double)", () => {
  it("stores the caption and labels, and indexes their semantic vector", async () => {
    const user = await seedUser();
    const assetId = await processedAsset(user, "waterfall.thumb.webp");

    const result = await deliver(
      EMBED,
      [{ id: "m", body: embedMessage(user.uid, assetId) }],
      withAi(env.AI_TEST_DOUBLE).env,
    );

    expect(result.explicitAcks).toEqual(["m"]);
    const row = await assetRow(assetId);
    expect(row).toMatchObject({ status: "ready", caption: "A waterfall in a tropical forest" });
    // AI labels (first name of each ImageNet label, low scores dropped), then colours.
    expect(labelsOf(row)).toEqual(["waterfall", "valley", "grey", "brown", "black"]);
    expect(await searchData(assetId)).toEqual({
      features: 1,
      docs: 1,
      descriptorVectors: 1,
      textVectors: 1,
    });
  });

  it("finds photos by what they show: the query is embedded like the captions", async () => {
    const user = await seedUser();
    const other = await seedUser();
    const ai = withAi(env.AI_TEST_DOUBLE).env;
    const ids: Record<string, string> = {};
    for (const name of ["waterfall", "concert", "park"] as const) {
      ids[name] = await processedAsset(user, `${name}.thumb.webp`);
      await runEmbedding(ai, embedMessage(user.uid, ids[name] ?? ""));
    }
    const foreign = await processedAsset(other, "waterfall.thumb.webp");
    await runEmbedding(ai, embedMessage(other.uid, foreign));

    const waterfall = await searchAssets(
      ai,
      await storeFor(env, user.uid),
      "tropical waterfall",
      10,
    );
    expect(waterfall.mode).toBe("semantic");
    expect(waterfall.matches[0]?.assetId).toBe(ids.waterfall);
    expect(waterfall.matches.map((m) => m.assetId)).not.toContain(foreign);
    const dog = await searchAssets(ai, await storeFor(env, user.uid), "dog in the park", 10);
    expect(dog.matches[0]?.assetId).toBe(ids.park);
  });

  it.each([
    ["a 429 (the per-account rate limit)", "AI_TEST_DOUBLE_RATE_LIMITED"],
    ["a 5xx from upstream", "AI_TEST_DOUBLE_UPSTREAM_ERROR"],
  ] as const)(
    "treats %s as transient: backoff retry, claim released, nothing written; the next delivery finishes",
    async (_, binding) => {
      const user = await seedUser();
      const assetId = await processedAsset(user, "saw.thumb.webp");
      const error = vi.spyOn(console, "error").mockImplementation(() => {});

      const failing = await deliver(
        EMBED,
        [{ id: "m", body: embedMessage(user.uid, assetId), attempts: 2 }],
        withAi(env[binding]).env,
      );

      expect(failing.explicitAcks).toEqual([]);
      expect(failing.retryMessages).toEqual([{ msgId: "m", delaySeconds: expect.any(Number) }]);
      // Attempt 2 under full jitter: anywhere from 1 s to the 8 s ceiling.
      const delay = failing.retryMessages[0]?.delaySeconds ?? 0;
      expect(delay).toBeGreaterThanOrEqual(1);
      expect(delay).toBeLessThanOrEqual(8);
      expect(messageLines(error)).toEqual([
        expect.objectContaining({ stage: "embedding", assetId, outcome: "retry", attempts: 2 }),
      ]);
      // Released as the processor releases: back to `processed`, one version and event more.
      expect(await assetRow(assetId)).toMatchObject({
        status: "processed",
        claimed_at: null,
        version: 6,
      });
      expect((await hubEvents(user.uid)).map((e) => [e.status, e.version])).toEqual([
        ["embedding", 5],
        ["processed", 6],
      ]);
      expect(await searchData(assetId)).toEqual({
        features: 0,
        docs: 0,
        descriptorVectors: 0,
        textVectors: 0,
      });

      const retried = await deliver(
        EMBED,
        [{ id: "m", body: embedMessage(user.uid, assetId), attempts: 3 }],
        withAi(env.AI_TEST_DOUBLE).env,
      );

      expect(retried.explicitAcks).toEqual(["m"]);
      expect(await assetRow(assetId)).toMatchObject({ status: "ready", attempts: 2 });
    },
  );

  it("makes a photo the AI models refuse ready without a caption, for good, and acks", async () => {
    const user = await seedUser();
    const assetId = await processedAsset(user, "note.thumb.webp", { name: "shopping-list.jpg" });
    vi.spyOn(console, "warn").mockImplementation(() => {});

    const result = await deliver(
      EMBED,
      [{ id: "m", body: embedMessage(user.uid, assetId) }],
      withAi(env.AI_TEST_DOUBLE_REJECTS_IMAGE).env,
    );

    expect(result.explicitAcks).toEqual(["m"]);
    expect(result.retryMessages).toEqual([]);
    const row = await assetRow(assetId);
    expect(row).toMatchObject({
      status: "ready",
      caption: null,
      claimed_at: null,
      redescribe_at: null,
    });
    expect(JSON.parse(row?.caption_skipped ?? "null")).toMatchObject({
      code: "ai_rejected_image",
      message: expect.stringContaining("5004: Invalid data type for base64 input"),
    });
    expect((await hubEvents(user.uid)).map((e) => e.status)).toEqual(["embedding", "ready"]);
    // Found by its look and its words: descriptor, pHash, colours, the file name.
    expect(await searchData(assetId)).toEqual({
      features: 1,
      docs: 1,
      descriptorVectors: 1,
      textVectors: 0,
    });
    const { matches } = await searchAssets(env, await storeFor(env, user.uid), "shopping", 10);
    expect(matches.map((m) => m.assetId)).toEqual([assetId]);
  });

  it("falls back to full-text search when AI is rate-limited at query time", async () => {
    const user = await seedUser();
    const assetId = await processedAsset(user, "waterfall.thumb.webp", { name: "rainforest.jpg" });
    await runEmbedding(withAi(env.AI_TEST_DOUBLE).env, embedMessage(user.uid, assetId));
    vi.spyOn(console, "warn").mockImplementation(() => {});

    const { mode, matches } = await searchAssets(
      withAi(env.AI_TEST_DOUBLE_RATE_LIMITED).env,
      await storeFor(env, user.uid),
      "waterfall",
      10,
    );

    // The caption and labels are in the full-text index too.
    expect(mode).toBe("text");
    expect(matches.map((m) => m.assetId)).toEqual([assetId]);
  });
});
