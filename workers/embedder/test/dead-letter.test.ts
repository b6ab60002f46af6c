import { env } from "cloudflare:workers";
import {
  backoffSeconds,
  DELIVERIES_BEFORE_DEAD_LETTER,
  lifecycleTimings,
  REDRIVE_BUDGET_MS,
} from "@darkroom/shared";
import { afterEach, describe, expect, it, vi } from "vitest";
import { everyShard } from "../../../test/workerd/shards";
import { processDeadLetter } from "../src/process-embed";
import {
  assetRow,
  deliver,
  EMBED_DLQ,
  embedMessage,
  hubEvents,
  recordingQueue,
  seedAsset,
  seedUser,
} from "./helpers";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the embed dead-letter handler", () => {
  it("re-drives a processed asset whose embed message kept failing: sent again after a backoff, not failed", async () => {
    const user = await seedUser();
    const { assetId } = await seedAsset(user, { status: "processed", version: 5 });
    vi.spyOn(Math, "random").mockReturnValue(1);
    const queue = recordingQueue();
    const body = embedMessage(user.uid, assetId);

    const result = await deliver(EMBED_DLQ, [{ id: "dead", body }], { ...env, EMBED_QUEUE: queue });

    expect(result.explicitAcks).toEqual(["dead"]);
    expect(result.retryMessages).toEqual([]);
    const delaySeconds = backoffSeconds(DELIVERIES_BEFORE_DEAD_LETTER, () => 1);
    expect(queue.sent).toEqual([{ body, delaySeconds }]);
    const row = await assetRow(assetId);
    expect(row).toMatchObject({ status: "processed", version: 6, error: null });
    expect(row?.retry_at).toEqual(expect.any(Number));
    expect((await hubEvents(user.uid)).map((e) => [e.status, e.version])).toEqual([
      ["processed", 6],
    ]);
  });

  it("fails a processed asset at stage embedding with retries_exhausted once the re-drive budget is spent", async () => {
    const user = await seedUser();
    const { assetId } = await seedAsset(user, { status: "processed", version: 5 });
    const queue = recordingQueue();
    const later = Date.now() + REDRIVE_BUDGET_MS + 60_000;

    const result = await processDeadLetter(
      { ...env, EMBED_QUEUE: queue },
      embedMessage(user.uid, assetId),
      () => later,
    );

    expect(result.outcome).toBe("failed");
    expect(queue.sent).toEqual([]);
    const row = await assetRow(assetId);
    expect(row).toMatchObject({ status: "failed", version: 6, claimed_at: null });
    const error = { stage: "embedding", code: "retries_exhausted", message: expect.any(String) };
    expect(JSON.parse(row?.error ?? "null")).toEqual(error);
    expect(await hubEvents(user.uid)).toEqual([
      {
        type: "asset",
        seq: 1,
        assetId,
        batchId: user.batchId,
        status: "failed",
        version: 6,
        error,
      },
    ]);
  });

  it("marks an asset stuck in embedding (its consumer died) failed at once", async () => {
    const user = await seedUser();
    const { assetId } = await seedAsset(user, { status: "embedding", version: 6 });

    expect((await processDeadLetter(env, embedMessage(user.uid, assetId))).outcome).toBe("failed");
    expect(await assetRow(assetId)).toMatchObject({ status: "failed", version: 7 });
  });

  it("leaves an asset alone while another delivery's embedding claim is live, and fails it once the claim is dead", async () => {
    const user = await seedUser();
    const { assetId } = await seedAsset(user, { status: "embedding", version: 6 });
    const lease = lifecycleTimings(env).embedLeaseMs;
    const setClaim = (at: number) =>
      everyShard.prepare("UPDATE assets SET claimed_at = ? WHERE id = ?").bind(at, assetId).run();

    await setClaim(Date.now() - 1000);
    expect((await processDeadLetter(env, embedMessage(user.uid, assetId))).outcome).toBe(
      "claim-live-or-settled",
    );
    expect(await assetRow(assetId)).toMatchObject({ status: "embedding", version: 6 });
    expect(await hubEvents(user.uid)).toEqual([]);

    await setClaim(Date.now() - lease - 1000);
    expect((await processDeadLetter(env, embedMessage(user.uid, assetId))).outcome).toBe("failed");
    expect(await assetRow(assetId)).toMatchObject({ status: "failed", version: 7 });
  });

  it.each(["uploaded", "ready", "failed", "deleting"])(
    "leaves an asset that is %s alone",
    async (status) => {
      const user = await seedUser();
      const { assetId } = await seedAsset(user, { status, version: 3 });

      expect((await processDeadLetter(env, embedMessage(user.uid, assetId))).outcome).toBe(
        "already-past",
      );
      expect(await assetRow(assetId)).toMatchObject({ status, version: 3, error: null });
      expect(await hubEvents(user.uid)).toEqual([]);
    },
  );

  it("changes nothing when the message's uid does not own the asset", async () => {
    const owner = await seedUser();
    const other = await seedUser();
    const { assetId } = await seedAsset(owner, { status: "processed" });

    expect((await processDeadLetter(env, embedMessage(other.uid, assetId))).outcome).toBe("gone");
    expect(await assetRow(assetId)).toMatchObject({ status: "processed", version: 1 });
    expect(await hubEvents(owner.uid)).toEqual([]);
  });

  it("acks and logs a malformed dead letter", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});

    const result = await deliver(EMBED_DLQ, [{ id: "garbage", body: { assetId: 7 } }]);

    expect(result.explicitAcks).toEqual(["garbage"]);
    expect(result.retryMessages).toEqual([]);
    expect(error).toHaveBeenCalledWith("embed-dlq: malformed message dropped", '{"assetId":7}');
  });
});
