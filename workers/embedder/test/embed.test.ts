import { env } from "cloudflare:workers";
import { ClaimHeld, EMBED_LEASE_MS, searchAssets, storeFor, variantKey } from "@darkroom/shared";
import { afterEach, describe, expect, it, vi } from "vitest";
import { everyShard } from "../../../test/workerd/shards";
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
  seedAsset,
  seedUser,
  withHookOnRead,
} from "./helpers";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("embedding a processed asset without AI (local mode)", () => {
  it("makes it ready: descriptor vector, features and FTS document written, colour labels, events published, message acked", async () => {
    const user = await seedUser();
    const assetId = await processedAsset(user, "park.thumb.webp", { name: "IMG_2041.jpg" });

    const result = await deliver(EMBED, [{ id: "m", body: embedMessage(user.uid, assetId) }]);

    expect(result.explicitAcks).toEqual(["m"]);
    expect(result.retryMessages).toEqual([]);
    const row = await assetRow(assetId);
    expect(row).toMatchObject({
      status: "ready",
      version: 6,
      claimed_at: null,
      attempts: 1,
      caption: null,
      near_duplicate_of: null,
      error: null,
    });
    expect(labelsOf(row)).toEqual(["grey", "green"]);
    expect(await searchData(assetId)).toEqual({
      features: 1,
      docs: 1,
      descriptorVectors: 1,
      textVectors: 0,
    });
    expect(await hubEvents(user.uid)).toEqual([
      { type: "asset", seq: 1, assetId, batchId: user.batchId, status: "embedding", version: 5 },
      { type: "asset", seq: 2, assetId, batchId: user.batchId, status: "ready", version: 6 },
    ]);
  });

  it("makes it findable by file name, EXIF fields and colour labels, for its owner only", async () => {
    const user = await seedUser();
    const other = await seedUser();
    const assetId = await processedAsset(user, "concert.thumb.webp", {
      name: "Festival_Night-07.jpg",
      camera: { make: "Canon", model: "EOS 5D Mark IV" },
      takenAt: Date.UTC(2019, 2, 14, 21, 30),
    });
    await runEmbedding(env, embedMessage(user.uid, assetId));

    const find = async (uid: string, q: string) =>
      (await searchAssets(env, await storeFor(env, uid), q, 10)).matches.map((m) => m.assetId);
    for (const q of [
      "festival",
      "night 07",
      "Festi",
      "canon",
      "eos 5d",
      "2019",
      "march",
      "monochrome",
    ]) {
      expect(await find(user.uid, q), q).toEqual([assetId]);
    }
    expect(await find(user.uid, "waterfall")).toEqual([]);
    expect(await find(other.uid, "festival")).toEqual([]);
    expect((await searchAssets(env, await storeFor(env, user.uid), "festival", 10)).mode).toBe(
      "text",
    );
  });

  it("acks a redelivery for an asset that is already ready, changing nothing", async () => {
    const user = await seedUser();
    const assetId = await processedAsset(user, "saw.thumb.webp");
    await runEmbedding(env, embedMessage(user.uid, assetId));
    const before = await assetRow(assetId);

    const result = await deliver(EMBED, [{ id: "again", body: embedMessage(user.uid, assetId) }]);

    expect(result.explicitAcks).toEqual(["again"]);
    expect(await assetRow(assetId)).toEqual(before);
    expect((await runEmbedding(env, embedMessage(user.uid, assetId))).outcome).toBe("already-past");
    expect((await hubEvents(user.uid)).map((e) => e.status)).toEqual(["embedding", "ready"]);
  });

  it("retries a delivery that finds another consumer's live claim when the lease would run out, never acking it", async () => {
    const user = await seedUser();
    const claimedAt = Date.now() - 60_000;
    const assetId = await processedAsset(user, "saw.thumb.webp", {
      status: "embedding",
      claimedAt,
    });

    // The delay is the rest of the lease as the consumer saw it, whenever it ran between
    // these two reads of the clock (however slow the machine).
    const before = Date.now();
    const result = await deliver(EMBED, [{ id: "dup", body: embedMessage(user.uid, assetId) }]);
    const after = Date.now();

    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages).toEqual([{ msgId: "dup", delaySeconds: expect.any(Number) }]);
    const delay = result.retryMessages[0]?.delaySeconds ?? 0;
    expect(delay).toBeGreaterThanOrEqual(Math.ceil((claimedAt + EMBED_LEASE_MS - after) / 1000));
    expect(delay).toBeLessThanOrEqual(Math.ceil((claimedAt + EMBED_LEASE_MS - before) / 1000));
    expect(await assetRow(assetId)).toMatchObject({ status: "embedding", claimed_at: claimedAt });
    expect(await searchData(assetId)).toMatchObject({ features: 0, descriptorVectors: 0 });
  });

  it.each([
    ["older than the lease", Date.now() - EMBED_LEASE_MS - 1000],
    ["released by a failed attempt", null],
  ])(
    "takes over a claim %s, bumping version and publishing it, and finishes the asset",
    async (_, claimedAt) => {
      const user = await seedUser();
      const assetId = await processedAsset(user, "waterfall.thumb.webp", {
        status: "embedding",
        claimedAt,
        version: 5,
      });

      const result = await deliver(EMBED, [{ id: "m", body: embedMessage(user.uid, assetId) }]);

      expect(result.explicitAcks).toEqual(["m"]);
      expect(await assetRow(assetId)).toMatchObject({ status: "ready", version: 7, attempts: 1 });
      // The take-over is a write like any other (as in the processor): it bumps `version`
      // and publishes, so a client sees the asset being worked on again.
      expect((await hubEvents(user.uid)).map((e) => [e.status, e.version])).toEqual([
        ["embedding", 6],
        ["ready", 7],
      ]);
    },
  );

  it("honours a lease shortened by EMBED_LEASE_SECONDS: retries within it, takes over past it", async () => {
    const user = await seedUser();
    // A var wrangler.toml leaves to its default in code, so not part of `Env`.
    const lease = { EMBED_LEASE_SECONDS: "20" };
    const short: Env = { ...env, ...lease };
    // One instant for every call: the claims' ages are exact, not the machine's speed.
    const now = Date.now();
    const liveId = await processedAsset(user, "saw.thumb.webp", {
      status: "embedding",
      claimedAt: now - 5_000,
    });
    const err = await runEmbedding(short, embedMessage(user.uid, liveId), () => now).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ClaimHeld);
    // The rest of the 20-second lease, not of the default five minutes.
    expect(err instanceof ClaimHeld && err.delaySeconds).toBe(15);

    // 60 s old: live under the default lease, dead under the shortened one.
    const deadId = await processedAsset(user, "waterfall.thumb.webp", {
      status: "embedding",
      claimedAt: now - 60_000,
    });
    await expect(
      runEmbedding(env, embedMessage(user.uid, deadId), () => now),
    ).rejects.toBeInstanceOf(ClaimHeld);
    expect((await runEmbedding(short, embedMessage(user.uid, deadId), () => now)).outcome).toBe(
      "completed",
    );
    expect(await assetRow(deadId)).toMatchObject({ status: "ready", claimed_at: null });
  });

  it("fails the asset at stage processing when the thumb is missing, so a retry reprocesses it", async () => {
    const user = await seedUser();
    const { assetId } = await seedAsset(user, { status: "processed", version: 4 });

    const result = await deliver(EMBED, [{ id: "m", body: embedMessage(user.uid, assetId) }]);

    expect(result.explicitAcks).toEqual(["m"]);
    const row = await assetRow(assetId);
    expect(row).toMatchObject({ status: "failed", version: 6, claimed_at: null });
    expect(JSON.parse(row?.error ?? "null")).toMatchObject({
      stage: "processing",
      code: "thumb_missing",
    });
    expect((await hubEvents(user.uid)).map((e) => e.status)).toEqual(["embedding", "failed"]);
  });

  it("fails the asset at stage processing when the thumb is not a decodable WebP", async () => {
    const user = await seedUser();
    const { assetId } = await seedAsset(user, { status: "processed" });
    await env.BUCKET.put(variantKey(user.uid, assetId, "thumb"), new Uint8Array([1, 2, 3, 4]));

    expect((await runEmbedding(env, embedMessage(user.uid, assetId))).outcome).toBe("failed");
    const row = await assetRow(assetId);
    expect(JSON.parse(row?.error ?? "null")).toMatchObject({
      stage: "processing",
      code: "thumb_undecodable",
    });
    expect(await searchData(assetId)).toMatchObject({ features: 0, docs: 0, descriptorVectors: 0 });
  });

  it.each([
    ["set to deleting", "UPDATE assets SET status = 'deleting' WHERE id = ?"],
    ["deleted", "DELETE FROM assets WHERE id = ?"],
  ])("removes what it wrote when the asset is %s while it works", async (_, sql) => {
    const user = await seedUser();
    const assetId = await processedAsset(user, "saw.thumb.webp");
    const racing = withHookOnRead(() => everyShard.prepare(sql).bind(assetId).run());

    const result = await deliver(
      EMBED,
      [{ id: "m", body: embedMessage(user.uid, assetId) }],
      racing,
    );

    expect(result.explicitAcks).toEqual(["m"]);
    expect((await runEmbedding(racing, embedMessage(user.uid, assetId))).outcome).not.toBe(
      "completed",
    );
    expect(await searchData(assetId)).toEqual({
      features: 0,
      docs: 0,
      descriptorVectors: 0,
      textVectors: 0,
    });
    expect((await hubEvents(user.uid)).map((e) => e.status)).toEqual(["embedding"]);
  });

  it("cannot complete once its claim was taken over: the other consumer's claim stands", async () => {
    const user = await seedUser();
    const assetId = await processedAsset(user, "saw.thumb.webp");
    const theirs = crypto.randomUUID();
    // Our lease runs out mid-work and another delivery takes the claim over, in the same
    // millisecond as ours for all the clock can tell: only the claim's token differs.
    const racing = withHookOnRead(() =>
      everyShard
        .prepare("UPDATE assets SET claim_token = ? WHERE id = ?")
        .bind(theirs, assetId)
        .run(),
    );

    expect((await runEmbedding(racing, embedMessage(user.uid, assetId))).outcome).toBe(
      "superseded",
    );
    expect(await assetRow(assetId)).toMatchObject({ status: "embedding", claim_token: theirs });
    expect((await hubEvents(user.uid)).map((e) => e.status)).toEqual(["embedding"]);
  });

  it("leaves the state alone when the dead-letter handler failed the asset meanwhile", async () => {
    const user = await seedUser();
    const assetId = await processedAsset(user, "saw.thumb.webp");
    const racing = withHookOnRead(() =>
      everyShard.prepare("UPDATE assets SET status = 'failed' WHERE id = ?").bind(assetId).run(),
    );

    expect((await runEmbedding(racing, embedMessage(user.uid, assetId))).outcome).toBe(
      "superseded",
    );
    expect(await assetRow(assetId)).toMatchObject({ status: "failed" });
  });
});

describe("messages the embedder does not act on", () => {
  it("acks and logs a malformed message instead of retrying it forever", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});

    const result = await deliver(EMBED, [
      { id: "garbage", body: "embed me", attempts: 4 },
      { id: "not-uuids", body: { assetId: "a", uid: "b" } },
      { id: "missing-uid", body: { assetId: crypto.randomUUID() } },
    ]);

    expect(result.explicitAcks).toEqual(["garbage", "not-uuids", "missing-uid"]);
    expect(result.retryMessages).toEqual([]);
    expect(error).toHaveBeenCalledWith("embed: malformed message dropped", expect.any(String));
    expect(error).toHaveBeenCalledTimes(3);
  });

  it("acks a message whose asset is gone or owned by someone else", async () => {
    const owner = await seedUser();
    const other = await seedUser();
    const assetId = await processedAsset(owner, "saw.thumb.webp");

    const result = await deliver(EMBED, [
      { id: "gone", body: embedMessage(owner.uid, crypto.randomUUID()) },
      { id: "foreign", body: embedMessage(other.uid, assetId) },
    ]);

    expect(result.explicitAcks).toEqual(["gone", "foreign"]);
    expect(result.retryMessages).toEqual([]);
    expect(await assetRow(assetId)).toMatchObject({ status: "processed", version: 4 });
  });

  it.each(["pending", "uploaded", "processing", "failed", "deleting"])(
    "acks a message for an asset that is %s, leaving it as it is",
    async (status) => {
      const user = await seedUser();
      const { assetId } = await seedAsset(user, { status, version: 3 });

      expect((await runEmbedding(env, embedMessage(user.uid, assetId))).outcome).toBe("not-yet");
      const result = await deliver(EMBED, [{ id: "m", body: embedMessage(user.uid, assetId) }]);

      expect(result.explicitAcks).toEqual(["m"]);
      expect(await assetRow(assetId)).toMatchObject({ status, version: 3 });
      expect(await hubEvents(user.uid)).toEqual([]);
    },
  );
});
