import { env } from "cloudflare:workers";
import {
  backoffSeconds,
  DELIVERIES_BEFORE_DEAD_LETTER,
  lifecycleTimings,
  originalKey,
  QUEUES_MAX_DELAY_SECONDS,
  REDRIVE_BUDGET_MS,
} from "@darkroom/shared";
import { afterEach, describe, expect, it, vi } from "vitest";
import { everyShard } from "../../../test/workerd/shards";
import { processDeadLetter } from "../src/process-upload";
import {
  assetRow,
  deliver,
  hubEvents,
  notification,
  recordingQueue,
  seedAsset,
  seedUser,
  UPLOADS_DLQ,
} from "./helpers";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the uploads dead-letter handler", () => {
  it("re-drives a pending asset whose notification kept failing: sent again after a backoff, not failed", async () => {
    const user = await seedUser();
    const { assetId, size } = await seedAsset(user);
    const body = notification(originalKey(user.uid, assetId), { size });
    vi.spyOn(Math, "random").mockReturnValue(1);
    const queue = recordingQueue();
    const before = Date.now();

    const result = await deliver(UPLOADS_DLQ, [{ id: "dead", body }], {
      ...env,
      UPLOADS_QUEUE: queue,
    });

    expect(result.explicitAcks).toEqual(["dead"]);
    expect(result.retryMessages).toEqual([]);
    // The backoff continues the queue's: after its six deliveries, up to 4 s × 2^5.
    const delaySeconds = backoffSeconds(DELIVERIES_BEFORE_DEAD_LETTER, () => 1);
    expect(queue.sent).toEqual([{ body, delaySeconds }]);
    const row = await assetRow(assetId);
    expect(row).toMatchObject({ status: "pending", version: 2, error: null });
    expect(row?.retry_at).toBeGreaterThanOrEqual(before + delaySeconds * 1000);
    expect((await hubEvents(user.uid)).map((e) => [e.status, e.version])).toEqual([["pending", 2]]);
  });

  it("backs each further re-drive off longer, up to Queues' 12-hour limit", async () => {
    const user = await seedUser();
    const { assetId, size } = await seedAsset(user, { status: "uploaded", version: 3 });
    const body = notification(originalKey(user.uid, assetId), { size });
    vi.spyOn(Math, "random").mockReturnValue(1);
    const queue = recordingQueue();
    const e = { ...env, UPLOADS_QUEUE: queue };

    for (let i = 0; i < 12; i++) {
      expect((await processDeadLetter(e, body)).outcome).toBe("redriven");
    }

    const delays = queue.sent.map((m) => m.delaySeconds);
    expect(delays.slice(0, 3)).toEqual([128, 256, 512]);
    expect(delays.at(-1)).toBe(QUEUES_MAX_DELAY_SECONDS);
    expect(await assetRow(assetId)).toMatchObject({ status: "uploaded", version: 15 });
  });

  it.each([
    ["pending", "upload"],
    ["uploaded", "processing"],
  ])(
    "fails an asset still %s once the re-drive budget is spent, at stage %s",
    async (status, stage) => {
      const user = await seedUser();
      const { assetId, size } = await seedAsset(user, { status, version: 3 });
      const queue = recordingQueue();
      const later = Date.now() + REDRIVE_BUDGET_MS + 60_000;

      const outcome = await processDeadLetter(
        { ...env, UPLOADS_QUEUE: queue },
        notification(originalKey(user.uid, assetId), { size }),
        () => later,
      );

      expect(outcome.outcome).toBe("failed");
      expect(queue.sent).toEqual([]);
      const row = await assetRow(assetId);
      expect(row).toMatchObject({ status: "failed", version: 4, claimed_at: null });
      expect(JSON.parse(row?.error ?? "null")).toEqual({
        stage,
        code: "retries_exhausted",
        message: expect.any(String),
      });
      expect((await hubEvents(user.uid)).map((e) => [e.status, e.version])).toEqual([
        ["failed", 4],
      ]);
    },
  );

  it("fails at once an asset left processing by a consumer that died (no live claim): never re-driven", async () => {
    const user = await seedUser();
    const { assetId, size } = await seedAsset(user, { status: "processing", version: 3 });
    const queue = recordingQueue();

    const outcome = await processDeadLetter(
      { ...env, UPLOADS_QUEUE: queue },
      notification(originalKey(user.uid, assetId), { size }),
    );

    expect(outcome.outcome).toBe("failed");
    expect(queue.sent).toEqual([]);
    expect(await assetRow(assetId)).toMatchObject({ status: "failed", version: 4 });
  });

  it("leaves an asset alone while another delivery's claim on it is live, and fails it once the claim is dead", async () => {
    const user = await seedUser();
    const { assetId, size } = await seedAsset(user, { status: "processing", version: 3 });
    const body = notification(originalKey(user.uid, assetId), { size });
    const lease = lifecycleTimings(env).processingLeaseMs;
    const setClaim = (at: number) =>
      everyShard.prepare("UPDATE assets SET claimed_at = ? WHERE id = ?").bind(at, assetId).run();

    await setClaim(Date.now() - 1000);
    expect((await processDeadLetter(env, body)).outcome).toBe("claim-live-or-settled");
    expect(await assetRow(assetId)).toMatchObject({
      status: "processing",
      version: 3,
      error: null,
    });
    expect(await hubEvents(user.uid)).toEqual([]);

    await setClaim(Date.now() - lease - 1000);
    expect((await processDeadLetter(env, body)).outcome).toBe("failed");
    expect(await assetRow(assetId)).toMatchObject({
      status: "failed",
      version: 4,
      claimed_at: null,
    });
  });

  it.each(["processed", "ready", "failed", "deleting"])(
    "leaves an asset that is already %s alone",
    async (status) => {
      const user = await seedUser();
      const { assetId, size } = await seedAsset(user, { status, version: 5 });

      const outcome = await processDeadLetter(
        env,
        notification(originalKey(user.uid, assetId), { size }),
      );

      expect(outcome.outcome).toBe("already-past");
      expect(await assetRow(assetId)).toMatchObject({ status, version: 5, error: null });
      expect(await hubEvents(user.uid)).toEqual([]);
    },
  );

  it("changes nothing when the key's uid does not own the asset", async () => {
    const owner = await seedUser();
    const other = await seedUser();
    const { assetId, size } = await seedAsset(owner);

    const outcome = await processDeadLetter(
      env,
      notification(originalKey(other.uid, assetId), { size }),
    );

    expect(outcome.outcome).toBe("gone");
    expect(await assetRow(assetId)).toMatchObject({ status: "pending", version: 1 });
    expect(await hubEvents(owner.uid)).toEqual([]);
  });

  it("acks and logs a malformed dead letter", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});

    const result = await deliver(UPLOADS_DLQ, [
      { id: "garbage", body: 42 },
      { id: "variant", body: notification("u/x/y/thumb.webp", { size: 1 }) },
    ]);

    expect(result.explicitAcks).toEqual(["garbage", "variant"]);
    expect(result.retryMessages).toEqual([]);
    expect(error).toHaveBeenCalledWith("uploads-dlq: unusable message dropped", "42");
  });
});
