import { env } from "cloudflare:workers";
import { lifecycleTimings, originalKey } from "@darkroom/shared";
import { afterEach, describe, expect, it, vi } from "vitest";
import { processDeadLetter } from "../src/process-upload";
import {
  assetRow,
  deliver,
  hubEvents,
  notification,
  seedAsset,
  seedUser,
  UPLOADS_DLQ,
} from "./helpers";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the uploads dead-letter handler", () => {
  it("marks a pending asset failed at stage upload with retries_exhausted, publishes it and acks", async () => {
    const user = await seedUser();
    const { assetId, size } = await seedAsset(user);
    const body = notification(originalKey(user.uid, assetId), { size });

    const result = await deliver(UPLOADS_DLQ, [{ id: "dead", body }]);

    expect(result.explicitAcks).toEqual(["dead"]);
    expect(result.retryMessages).toEqual([]);
    const row = await assetRow(assetId);
    expect(row).toMatchObject({ status: "failed", version: 2, claimed_at: null });
    const error = { stage: "upload", code: "retries_exhausted", message: expect.any(String) };
    expect(JSON.parse(row?.error ?? "null")).toEqual(error);
    expect(await hubEvents(user.uid)).toEqual([
      {
        type: "asset",
        seq: 1,
        assetId,
        batchId: user.batchId,
        status: "failed",
        version: 2,
        error,
      },
    ]);
  });

  it.each(["uploaded", "processing"])(
    "marks an asset still %s failed at stage processing",
    async (status) => {
      const user = await seedUser();
      const { assetId, size } = await seedAsset(user, { status, version: 3 });

      const outcome = await processDeadLetter(
        env,
        notification(originalKey(user.uid, assetId), { size }),
      );

      expect(outcome.outcome).toBe("failed");
      const row = await assetRow(assetId);
      expect(row).toMatchObject({ status: "failed", version: 4 });
      expect(JSON.parse(row?.error ?? "null")).toMatchObject({
        stage: "processing",
        code: "retries_exhausted",
      });
      expect((await hubEvents(user.uid)).map((e) => [e.status, e.version])).toEqual([
        ["failed", 4],
      ]);
    },
  );

  it("leaves an asset alone while another delivery's claim on it is live, and fails it once the claim is dead", async () => {
    const user = await seedUser();
    const { assetId, size } = await seedAsset(user, { status: "processing", version: 3 });
    const body = notification(originalKey(user.uid, assetId), { size });
    const lease = lifecycleTimings(env).processingLeaseMs;
    const setClaim = (at: number) =>
      env.DB.prepare("UPDATE assets SET claimed_at = ? WHERE id = ?").bind(at, assetId).run();

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
