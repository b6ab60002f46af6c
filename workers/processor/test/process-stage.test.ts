import { env } from "cloudflare:workers";
import { ClaimHeld, originalKey, PROCESSING_LEASE_MS, variantKey } from "@darkroom/shared";
import { describe, expect, it } from "vitest";
import { everyShard } from "../../../test/workerd/shards";
import { runProcessing } from "../src/process-stage";
import { fixture } from "./fixtures";
import {
  assetRow,
  deliver,
  hubEvents,
  notification,
  PHOTO,
  putOriginal,
  seedAsset,
  seedUser,
  UPLOADS,
} from "./helpers";

/** Records what the stage sends to the embed queue, forwarding to the real binding. */
function recordingEnv() {
  const sent: unknown[] = [];
  const embed = new Proxy(env.EMBED_QUEUE, {
    get(target, prop, receiver) {
      if (prop === "send") {
        return (body: unknown) => {
          sent.push(body);
          return target.send(body);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { env: { ...env, EMBED_QUEUE: embed }, sent };
}

async function setRow(assetId: string, sql: string, ...params: unknown[]) {
  await everyShard
    .prepare(`UPDATE assets SET ${sql} WHERE id = ?`)
    .bind(...params, assetId)
    .run();
}

describe("the processing stage", () => {
  it("records dimensions, camera and variant sizes, and sends the embed message", async () => {
    const user = await seedUser();
    const photo = fixture("Channel_digital_image_CMYK_color.jpg");
    const { assetId } = await seedAsset(user, {
      status: "uploaded",
      version: 2,
      size: photo.byteLength,
    });
    await env.BUCKET.put(originalKey(user.uid, assetId), photo);
    const r = recordingEnv();
    expect((await runProcessing(r.env, assetId, user.uid)).outcome).toBe("completed");
    const row = await everyShard
      .prepare("SELECT * FROM assets WHERE id = ?")
      .bind(assetId)
      .first<Record<string, unknown>>();
    expect(row).toMatchObject({
      status: "processed",
      width: 500,
      height: 333,
      camera_make: "Canon",
      camera_model: "Canon EOS 300D DIGITAL",
      attempts: 1,
    });
    expect(row?.taken_at).toBe(Date.UTC(2004, 2, 20, 14, 54, 55));
    const variants = JSON.parse(String(row?.variants));
    expect(variants.thumb).toMatchObject({ width: 320, height: 213 });
    expect(variants.preview).toMatchObject({ width: 500, height: 333 });
    const thumb = await env.BUCKET.get(variantKey(user.uid, assetId, "thumb"));
    expect(thumb?.size).toBe(variants.thumb.bytes);
    expect(thumb?.httpMetadata?.contentType).toBe("image/webp");
    expect(r.sent).toEqual([{ assetId, uid: user.uid }]);
  });

  for (const [name, format, animated, camera] of [
    ["grid.heic", "heic", false, "iPhone 13 mini"],
    ["photo.avif", "avif", false, "iPhone 13 mini"],
    ["animated.gif", "gif", true, null],
  ] as const) {
    it(`records a ${format.toUpperCase()} (${name}): format, animated, camera, variants`, async () => {
      const user = await seedUser();
      const bytes = fixture(name);
      const { assetId } = await seedAsset(user, {
        status: "uploaded",
        version: 2,
        size: bytes.byteLength,
      });
      await env.BUCKET.put(originalKey(user.uid, assetId), bytes);
      expect(await runProcessing(recordingEnv().env, assetId, user.uid)).toMatchObject({
        outcome: "completed",
      });
      const row = await everyShard
        .prepare("SELECT * FROM assets WHERE id = ?")
        .bind(assetId)
        .first<Record<string, unknown>>();
      expect(row).toMatchObject({ status: "processed", camera_model: camera });
      const variants = JSON.parse(String(row?.variants));
      expect(variants.source).toEqual({ format, animated });
      expect(variants.thumb.width).toBeGreaterThan(0);
    });
  }

  it("fails a corrupt image permanently: acked, no retry, the reason published", async () => {
    const user = await seedUser();
    const bad = fixture("corrupt-header.jpg");
    const { assetId } = await seedAsset(user, { size: bad.byteLength });
    const key = originalKey(user.uid, assetId);
    await env.BUCKET.put(key, bad);
    const result = await deliver(UPLOADS, [{ id: "m", body: notification(key) }]);
    expect(result.explicitAcks).toEqual(["m"]);
    expect(result.retryMessages).toEqual([]);
    const row = await assetRow(assetId);
    expect(row?.status).toBe("failed");
    expect(JSON.parse(row?.error ?? "null")).toMatchObject({
      stage: "processing",
      code: "corrupt",
    });
    const last = (await hubEvents(user.uid)).at(-1);
    expect(last).toMatchObject({
      status: "failed",
      error: { stage: "processing", code: "corrupt" },
    });
    // A redelivery of the same notification does not revive it.
    await deliver(UPLOADS, [{ id: "again", body: notification(key) }]);
    expect((await assetRow(assetId))?.status).toBe("failed");
  });

  it("fails an SVG posing as a JPEG as an unsupported format", async () => {
    const user = await seedUser();
    const svg = fixture("check.svg");
    const { assetId } = await seedAsset(user, {
      size: svg.byteLength,
      status: "uploaded",
      version: 2,
    });
    await env.BUCKET.put(originalKey(user.uid, assetId), svg);
    expect(await runProcessing(env, assetId, user.uid)).toEqual({
      assetId,
      outcome: "failed",
      code: "unsupported_format",
    });
    expect(await env.BUCKET.head(variantKey(user.uid, assetId, "thumb"))).toBeNull();
  });

  it("retries later, without touching the row, while another consumer's claim is live", async () => {
    const user = await seedUser();
    const { assetId, size } = await seedAsset(user, { status: "processing", version: 3 });
    await putOriginal(user.uid, assetId, size);
    const now = Date.now();
    const claimedAt = now - 30_000;
    await setRow(assetId, "claimed_at = ?", claimedAt);
    const err = await runProcessing(env, assetId, user.uid, () => now).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClaimHeld);
    expect(err instanceof ClaimHeld && err.delaySeconds).toBe(
      (PROCESSING_LEASE_MS - 30_000) / 1000,
    );
    expect(await assetRow(assetId)).toMatchObject({
      status: "processing",
      version: 3,
      claimed_at: claimedAt,
    });

    const q = await deliver(UPLOADS, [
      { id: "m", body: notification(originalKey(user.uid, assetId)) },
    ]);
    expect(q.explicitAcks).toEqual([]);
    expect(q.retryMessages[0]?.delaySeconds).toBeGreaterThan(60);
  });

  it("takes over a claim older than the lease and finishes the work once", async () => {
    const user = await seedUser();
    const { assetId, size } = await seedAsset(user, { status: "processing", version: 3 });
    await putOriginal(user.uid, assetId, size);
    await setRow(assetId, "claimed_at = ?", Date.now() - PROCESSING_LEASE_MS - 1000);
    expect((await runProcessing(env, assetId, user.uid)).outcome).toBe("completed");
    expect(await assetRow(assetId)).toMatchObject({
      status: "processed",
      version: 5,
      claimed_at: null,
    });
  });

  it("takes over a processing asset without a claim time, as the embedder does", async () => {
    const user = await seedUser();
    const { assetId, size } = await seedAsset(user, { status: "processing", version: 3 });
    await putOriginal(user.uid, assetId, size);
    expect((await runProcessing(env, assetId, user.uid)).outcome).toBe("completed");
    expect((await hubEvents(user.uid)).map((e) => [e.status, e.version])).toEqual([
      ["processing", 4],
      ["processed", 5],
    ]);
  });

  it("honours a lease shortened by PROCESSING_LEASE_SECONDS: retries within it, takes over past it", async () => {
    const user = await seedUser();
    // A var wrangler.toml leaves to its default in code, so not part of `Env`.
    const lease = { PROCESSING_LEASE_SECONDS: "20" };
    const short: Env = { ...env, ...lease };
    const live = await seedAsset(user, { status: "processing", version: 3 });
    await putOriginal(user.uid, live.assetId, live.size);
    // One instant for every call: the claims' ages are exact, not the machine's speed.
    const now = Date.now();
    const at = () => now;
    await setRow(live.assetId, "claimed_at = ?", now - 5_000);
    const err = await runProcessing(short, live.assetId, user.uid, at).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClaimHeld);
    // The rest of the 20-second lease, not of the default two minutes.
    expect(err instanceof ClaimHeld && err.delaySeconds).toBe(15);

    // 30 s old: live under the default lease, dead under the shortened one.
    const dead = await seedAsset(user, { status: "processing", version: 3 });
    await putOriginal(user.uid, dead.assetId, dead.size);
    await setRow(dead.assetId, "claimed_at = ?", now - 30_000);
    await expect(runProcessing(env, dead.assetId, user.uid, at)).rejects.toBeInstanceOf(ClaimHeld);
    expect((await runProcessing(short, dead.assetId, user.uid, at)).outcome).toBe("completed");
    expect(await assetRow(dead.assetId)).toMatchObject({ status: "processed", claimed_at: null });
  });

  it("removes its variants when the asset was deleted while it worked", async () => {
    const user = await seedUser();
    const { assetId, size } = await seedAsset(user, { status: "uploaded", version: 2 });
    await putOriginal(user.uid, assetId, size);
    // The owner deletes the asset between the claim and the final update.
    const e: Env = {
      ...env,
      BUCKET: new Proxy(env.BUCKET, {
        get(target, prop, receiver) {
          if (prop === "put") {
            return async (key: string, value: Uint8Array, opts?: R2PutOptions) => {
              await everyShard
                .prepare("UPDATE assets SET status = 'deleting' WHERE id = ?")
                .bind(assetId)
                .run();
              return target.put(key, value, opts);
            };
          }
          const v = Reflect.get(target, prop, receiver);
          return typeof v === "function" ? v.bind(target) : v;
        },
      }),
    };
    expect((await runProcessing(e, assetId, user.uid)).outcome).toBe("deleted-meanwhile");
    expect(await env.BUCKET.head(variantKey(user.uid, assetId, "thumb"))).toBeNull();
    expect(await env.BUCKET.head(variantKey(user.uid, assetId, "preview"))).toBeNull();
  });

  it("hands the asset back on a transient storage failure so a retry can claim it", async () => {
    const user = await seedUser();
    const { assetId, size } = await seedAsset(user, { status: "uploaded", version: 2 });
    await putOriginal(user.uid, assetId, size);
    const e: Env = {
      ...env,
      BUCKET: new Proxy(env.BUCKET, {
        get(target, prop, receiver) {
          if (prop === "put") return async () => Promise.reject(new Error("R2 503: simulated"));
          const v = Reflect.get(target, prop, receiver);
          return typeof v === "function" ? v.bind(target) : v;
        },
      }),
    };
    await expect(runProcessing(e, assetId, user.uid)).rejects.toThrow(/simulated/);
    expect(await assetRow(assetId)).toMatchObject({
      status: "uploaded",
      claimed_at: null,
      version: 4,
    });
    // Released as the embedder releases: one version more and its event.
    expect((await hubEvents(user.uid)).map((e) => [e.status, e.version])).toEqual([
      ["processing", 3],
      ["uploaded", 4],
    ]);
    expect((await runProcessing(env, assetId, user.uid)).outcome).toBe("completed");
  });

  it("keeps memory flat over many images in one isolate (fresh WASM per image)", async () => {
    const user = await seedUser();
    const peaks: number[] = [];
    for (let i = 0; i < 20; i++) {
      const { assetId } = await seedAsset(user, {
        status: "uploaded",
        version: 2,
        size: PHOTO.byteLength,
      });
      await env.BUCKET.put(originalKey(user.uid, assetId), PHOTO);
      expect((await runProcessing(env, assetId, user.uid)).outcome).toBe("completed");
    }
    // The pipeline's own meter, per image, must not creep up.
    const { processImage } = await import("../src/image/pipeline");
    for (let i = 0; i < 10; i++) peaks.push((await processImage(PHOTO)).peakBytes);
    expect(Math.max(...peaks)).toBe(Math.min(...peaks));
    // 30 images: a few seconds alone, more beside the property tests on two shared cores.
  }, 180_000);
});
