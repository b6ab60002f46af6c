import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { originalKey } from "@darkroom/shared";
import { describe, expect, it } from "vitest";
import { everyShard } from "../../../test/workerd/shards";
import worker from "../src/index";
import { sweep } from "../src/sweeper";
import { fileFor, jpegBytes, makeEnv, requestUploads, tokenFor, uidFor, userName } from "./helpers";

const MINUTE = 60_000;

async function pendingAsset() {
  const user = userName();
  const bytes = jpegBytes(64);
  const { body } = await requestUploads(await tokenFor(user), [await fileFor(bytes)]);
  const assetId = body.files[0]?.assetId ?? "";
  const uid = await uidFor(user);
  return { uid, assetId, bytes, batchId: body.batchId };
}

async function status(assetId: string) {
  return (
    await everyShard
      .prepare("SELECT status FROM assets WHERE id = ?")
      .bind(assetId)
      .first<{ status: string }>()
  )?.status;
}

describe("sweeper", () => {
  it("deletes a pending asset past its expiry and grace when R2 has no object", async () => {
    const a = await pendingAsset();
    // 15 min URL + 10 min grace, and a bit.
    const report = await sweep(makeEnv().env, Date.now() + 26 * MINUTE);
    expect(report.expired).toBeGreaterThanOrEqual(1);
    expect(await status(a.assetId)).toBeUndefined();
    const items = await everyShard
      .sum("SELECT COUNT(*) AS n FROM batch_items WHERE asset_id = ?")
      .bind(a.assetId)
      .first<{ n: number }>();
    expect(items?.n).toBe(0);
    const { events } = await env.USER_HUB.get(env.USER_HUB.idFromName(a.uid)).eventsSince(0);
    expect(events.at(-1)).toMatchObject({ assetId: a.assetId, status: "deleted", version: 2 });
  });

  it("keeps a pending asset whose URL is still within expiry and grace", async () => {
    const a = await pendingAsset();
    await sweep(makeEnv().env, Date.now() + 20 * MINUTE);
    expect(await status(a.assetId)).toBe("pending");
  });

  it("re-sends the R2 notification for a pending asset whose object is in R2", async () => {
    const a = await pendingAsset();
    const key = originalKey(a.uid, a.assetId);
    await env.BUCKET.put(key, a.bytes);
    const { env: e, sent } = makeEnv();
    const report = await sweep(e, Date.now() + 2 * MINUTE);
    expect(report.renotified).toBeGreaterThanOrEqual(1);
    expect(sent).toContainEqual({
      queue: "uploads",
      body: expect.objectContaining({
        action: "PutObject",
        object: expect.objectContaining({ key, size: 64 }),
      }),
    });
    expect(await status(a.assetId)).toBe("pending");
    // Even far past expiry, a pending row with its object is never deleted.
    await sweep(makeEnv().env, Date.now() + 60 * MINUTE);
    expect(await status(a.assetId)).toBe("pending");
  });

  it("leaves a fresh pending asset alone (its upload may be under way)", async () => {
    const a = await pendingAsset();
    await env.BUCKET.put(originalKey(a.uid, a.assetId), a.bytes);
    const { env: e, sent } = makeEnv();
    await sweep(e, Date.now());
    expect(sent.filter((s) => JSON.stringify(s.body).includes(a.assetId))).toEqual([]);
  });

  it("finishes a delete that was interrupted", async () => {
    const a = await pendingAsset();
    await env.BUCKET.put(originalKey(a.uid, a.assetId), a.bytes);
    await everyShard
      .prepare("UPDATE assets SET status = 'deleting' WHERE id = ?")
      .bind(a.assetId)
      .run();
    await sweep(makeEnv().env, Date.now() + 6 * MINUTE);
    expect(await status(a.assetId)).toBeUndefined();
    expect(await env.BUCKET.head(originalKey(a.uid, a.assetId))).toBeNull();
  });

  it("runs from the worker's scheduled handler (the cron trigger)", async () => {
    const a = await pendingAsset();
    const longAgo = Date.now() - 60 * MINUTE;
    await everyShard
      .prepare("UPDATE assets SET expires_at = ?, updated_at = ? WHERE id = ?")
      .bind(longAgo, longAgo, a.assetId)
      .run();
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "*/2 * * * *" }), makeEnv().env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await status(a.assetId)).toBeUndefined();
  });
});
