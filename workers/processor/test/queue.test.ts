import { env } from "cloudflare:workers";
import { QUEUES_MAX_DELAY_SECONDS, variantKey } from "@darkroom/shared";
import { afterEach, describe, expect, it, vi } from "vitest";
import { messageLines } from "../../../test/workerd/queue-helpers";
import { withShards } from "../../../test/workerd/shards";
import {
  assetRow,
  deliver,
  failingD1,
  hubEvents,
  notification,
  putOriginal,
  seedAsset,
  seedUser,
  UPLOADS,
} from "./helpers";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the uploads queue handler", () => {
  it("acks a processed notification", async () => {
    const user = await seedUser();
    const { assetId, size } = await seedAsset(user);
    const key = await putOriginal(user.uid, assetId, size);

    const result = await deliver(UPLOADS, [{ id: "m1", body: notification(key, { size }) }]);

    expect(result.explicitAcks).toEqual(["m1"]);
    expect(result.retryMessages).toEqual([]);
    expect(result.retryBatch.retry).toBe(false);
    expect(await assetRow(assetId)).toMatchObject({ status: "processed", version: 4 });
  });

  it("a duplicate notification delivered twice changes nothing the second time and is acked", async () => {
    const user = await seedUser();
    const { assetId, size } = await seedAsset(user);
    const key = await putOriginal(user.uid, assetId, size);
    const body = notification(key, { size });

    await deliver(UPLOADS, [{ id: "first", body }]);
    const again = await deliver(UPLOADS, [{ id: "again", body, attempts: 2 }]);

    expect(again.explicitAcks).toEqual(["again"]);
    expect(again.retryMessages).toEqual([]);
    expect(await assetRow(assetId)).toMatchObject({ status: "processed", version: 4 });
    expect((await hubEvents(user.uid)).map((e) => [e.status, e.version])).toEqual([
      ["uploaded", 2],
      ["processing", 3],
      ["processed", 4],
    ]);
  });

  it("the same notification twice in one batch moves the asset once", async () => {
    const user = await seedUser();
    const { assetId, size } = await seedAsset(user);
    const key = await putOriginal(user.uid, assetId, size);
    const body = notification(key, { size });

    const result = await deliver(UPLOADS, [
      { id: "a", body },
      { id: "b", body },
    ]);

    expect(result.explicitAcks).toEqual(["a", "b"]);
    expect(await assetRow(assetId)).toMatchObject({ status: "processed", version: 4 });
    // Each state once: the second message found the asset processed.
    expect((await hubEvents(user.uid)).map((e) => e.status)).toEqual([
      "uploaded",
      "processing",
      "processed",
    ]);
  });

  it("acks variant keys, junk keys and delete actions without touching anything", async () => {
    const user = await seedUser();
    const { assetId, size } = await seedAsset(user);
    const original = await putOriginal(user.uid, assetId, size);
    const thumb = variantKey(user.uid, assetId, "thumb");
    await env.BUCKET.put(thumb, new Uint8Array(8));

    const result = await deliver(UPLOADS, [
      { id: "variant", body: notification(thumb, { size: 8 }) },
      { id: "junk", body: notification("tmp/upload-123", { size: 8 }) },
      { id: "delete", body: notification(original, { action: "DeleteObject" }) },
    ]);

    expect(result.explicitAcks).toEqual(["variant", "junk", "delete"]);
    expect(result.retryMessages).toEqual([]);
    expect(await assetRow(assetId)).toMatchObject({ status: "pending", version: 1 });
    expect(await env.BUCKET.head(original)).not.toBeNull();
    expect(await env.BUCKET.head(thumb)).not.toBeNull();
  });

  it("acks and logs a malformed message instead of retrying it forever", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});

    const result = await deliver(UPLOADS, [
      { id: "garbage", body: "not a notification", attempts: 3 },
      { id: "partial", body: { action: "PutObject", object: {} } },
    ]);

    expect(result.explicitAcks).toEqual(["garbage", "partial"]);
    expect(result.retryMessages).toEqual([]);
    expect(error).toHaveBeenCalledWith(
      "uploads: malformed notification dropped",
      expect.any(String),
    );
    expect(error).toHaveBeenCalledTimes(2);
  });

  it("acks a size mismatch: the failure is permanent, not something a retry fixes", async () => {
    const user = await seedUser();
    const { assetId } = await seedAsset(user, { size: 100 });
    const key = await putOriginal(user.uid, assetId, 99);

    const result = await deliver(UPLOADS, [{ id: "m", body: notification(key, { size: 99 }) }]);

    expect(result.explicitAcks).toEqual(["m"]);
    expect(result.retryMessages).toEqual([]);
    expect(await assetRow(assetId)).toMatchObject({ status: "failed", version: 2 });
  });

  it("retries only the message that hit a transient failure, with a delay, and acks the others", async () => {
    const user = await seedUser();
    const sick = await seedAsset(user);
    const healthy = await seedAsset(user);
    const sickKey = await putOriginal(user.uid, sick.assetId, sick.size);
    const healthyKey = await putOriginal(user.uid, healthy.assetId, healthy.size);
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const flakyEnv: Env = withShards(env, (db) => failingD1(db, sick.assetId));

    const result = await deliver(
      UPLOADS,
      [
        { id: "sick", body: notification(sickKey, { size: sick.size }) },
        { id: "healthy", body: notification(healthyKey, { size: healthy.size }) },
        { id: "malformed", body: { nonsense: true } },
      ],
      flakyEnv,
    );

    expect(result.retryBatch.retry).toBe(false);
    expect(result.explicitAcks).toEqual(["healthy", "malformed"]);
    expect(result.retryMessages).toEqual([{ msgId: "sick", delaySeconds: expect.any(Number) }]);
    // backoffSeconds(1): up to 4 s, at least 1.
    const delay = result.retryMessages[0]?.delaySeconds ?? 0;
    expect(delay).toBeGreaterThanOrEqual(1);
    expect(delay).toBeLessThanOrEqual(4);
    // One structured line per message: the retry on stderr, the others on stdout.
    expect(messageLines(error)).toContainEqual(
      expect.objectContaining({
        stage: "processing",
        assetId: sick.assetId,
        outcome: "retry",
        attempts: 1,
        delaySeconds: delay,
        error: expect.any(String),
      }),
    );
    expect(messageLines(log)).toEqual([
      expect.objectContaining({
        stage: "processing",
        assetId: healthy.assetId,
        outcome: "completed",
        ms: expect.any(Number),
      }),
      { stage: "processing", assetId: null, outcome: "malformed", ms: expect.any(Number) },
    ]);

    expect(await assetRow(sick.assetId)).toMatchObject({ status: "pending", version: 1 });
    expect(await env.BUCKET.head(sickKey)).not.toBeNull();
    expect(await assetRow(healthy.assetId)).toMatchObject({ status: "processed", version: 4 });
  });

  it("backs off longer as a message's attempts grow", async () => {
    const user = await seedUser();
    const { assetId, size } = await seedAsset(user);
    const key = await putOriginal(user.uid, assetId, size);
    vi.spyOn(console, "error").mockImplementation(() => {});
    vi.spyOn(Math, "random").mockReturnValue(1);
    const flakyEnv: Env = withShards(env, (db) => failingD1(db, assetId));
    const body = notification(key, { size });

    const first = await deliver(UPLOADS, [{ id: "m", body, attempts: 1 }], flakyEnv);
    const fifth = await deliver(UPLOADS, [{ id: "m", body, attempts: 5 }], flakyEnv);
    const late = await deliver(UPLOADS, [{ id: "m", body, attempts: 20 }], flakyEnv);

    expect(first.retryMessages).toEqual([{ msgId: "m", delaySeconds: 4 }]);
    expect(fifth.retryMessages).toEqual([{ msgId: "m", delaySeconds: 64 }]);
    // From seconds to hours, never past the 12 hours Queues accepts.
    expect(late.retryMessages).toEqual([{ msgId: "m", delaySeconds: QUEUES_MAX_DELAY_SECONDS }]);
  });
});
