import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { processMessage } from "../src/process-embed";
import { assetRow, deliver, EMBED, embedMessage, hubEvents, seedAsset, seedUser } from "./helpers";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the embed queue handler", () => {
  it("retries a processed asset's message with a delay rather than acking it (the stage is not built yet)", async () => {
    const user = await seedUser();
    const { assetId } = await seedAsset(user, { status: "processed", version: 5 });
    const error = vi.spyOn(console, "error").mockImplementation(() => {});

    const result = await deliver(EMBED, [{ id: "m", body: embedMessage(user.uid, assetId) }]);

    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages).toEqual([{ msgId: "m", delaySeconds: expect.any(Number) }]);
    const delay = result.retryMessages[0]?.delaySeconds ?? 0;
    expect(delay).toBeGreaterThanOrEqual(1);
    expect(delay).toBeLessThanOrEqual(4);
    expect(error).toHaveBeenCalledWith(
      "embedder: will retry",
      expect.objectContaining({ id: "m", attempts: 1 }),
    );
    expect(await assetRow(assetId)).toMatchObject({ status: "processed", version: 5 });
    expect(await hubEvents(user.uid)).toEqual([]);
  });

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
    const { assetId } = await seedAsset(owner, { status: "processed" });

    const result = await deliver(EMBED, [
      { id: "gone", body: embedMessage(owner.uid, crypto.randomUUID()) },
      { id: "foreign", body: embedMessage(other.uid, assetId) },
    ]);

    expect(result.explicitAcks).toEqual(["gone", "foreign"]);
    expect(result.retryMessages).toEqual([]);
    expect(await assetRow(assetId)).toMatchObject({ status: "processed", version: 1 });
  });

  it.each(["pending", "uploaded", "processing", "ready", "failed", "deleting"])(
    "acks a message for an asset that is %s, leaving it as it is",
    async (status) => {
      const user = await seedUser();
      const { assetId } = await seedAsset(user, { status, version: 3 });

      expect(await processMessage(env, embedMessage(user.uid, assetId))).toBe("not-processed");
      const result = await deliver(EMBED, [{ id: "m", body: embedMessage(user.uid, assetId) }]);

      expect(result.explicitAcks).toEqual(["m"]);
      expect(await assetRow(assetId)).toMatchObject({ status, version: 3 });
      expect(await hubEvents(user.uid)).toEqual([]);
    },
  );
});
