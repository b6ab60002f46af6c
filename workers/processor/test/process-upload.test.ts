import { env } from "cloudflare:workers";
import { originalKey, variantKey } from "@darkroom/shared";
import { afterEach, describe, expect, it, vi } from "vitest";
import { uploadArrived } from "../src/process-upload";
import { assetRow, hubEvents, notification, putOriginal, seedAsset, seedUser } from "./helpers";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("an object-create notification", () => {
  it("takes a pending asset through uploaded and processing to processed, publishing each state", async () => {
    const user = await seedUser();
    const { assetId, size } = await seedAsset(user);
    const key = await putOriginal(user.uid, assetId, size);

    expect((await uploadArrived(env, notification(key, { size }))).outcome).toBe("completed");

    const row = await assetRow(assetId);
    expect(row).toMatchObject({
      status: "processed",
      version: 4,
      expires_at: null,
      claimed_at: null,
      error: null,
    });
    expect((await hubEvents(user.uid)).map((e) => [e.seq, e.status, e.version, e.batchId])).toEqual(
      [
        [1, "uploaded", 2, user.batchId],
        [2, "processing", 3, user.batchId],
        [3, "processed", 4, user.batchId],
      ],
    );
    // The original stays; the variants are next to it.
    expect(await env.BUCKET.head(key)).not.toBeNull();
    expect(await env.BUCKET.head(variantKey(user.uid, assetId, "thumb"))).not.toBeNull();
    expect(await env.BUCKET.head(variantKey(user.uid, assetId, "preview"))).not.toBeNull();
  });

  it("without a size is checked against the stored object's size", async () => {
    const user = await seedUser();
    const { assetId, size } = await seedAsset(user);
    const key = await putOriginal(user.uid, assetId, size);

    expect((await uploadArrived(env, notification(key))).outcome).toBe("completed");
    expect(await assetRow(assetId)).toMatchObject({ status: "processed", version: 4 });
  });

  it("delivered a second time changes nothing and publishes nothing", async () => {
    const user = await seedUser();
    const { assetId, size } = await seedAsset(user);
    const key = await putOriginal(user.uid, assetId, size);
    const body = notification(key, { size });

    await uploadArrived(env, body);
    const after = await assetRow(assetId);
    // Only the next stage's message goes out again (idempotent for the embedder).
    expect((await uploadArrived(env, body)).outcome).toBe("embed-resent");

    expect(await assetRow(assetId)).toEqual(after);
    expect(await hubEvents(user.uid)).toHaveLength(3);
  });

  it("for an object that is no longer in R2 leaves the asset pending", async () => {
    // A late redelivery, or one whose object was removed since: `uploaded` means the
    // bytes are in R2, so without them the asset stays pending for the client to resume.
    const user = await seedUser();
    const { assetId, size } = await seedAsset(user);
    const key = originalKey(user.uid, assetId);

    expect((await uploadArrived(env, notification(key, { size }))).outcome).toBe("no-object");
    expect((await uploadArrived(env, notification(key))).outcome).toBe("no-object");
    expect(await assetRow(assetId)).toMatchObject({ status: "pending", version: 1 });
    expect(await hubEvents(user.uid)).toEqual([]);
  });

  it("for an asset already past pending leaves it as it is", async () => {
    const user = await seedUser();
    const { assetId, size } = await seedAsset(user, { status: "processed", version: 4 });
    const key = await putOriginal(user.uid, assetId, size);

    expect((await uploadArrived(env, notification(key, { size }))).outcome).toBe("embed-resent");
    expect(await assetRow(assetId)).toMatchObject({ status: "processed", version: 4 });
    expect(await hubEvents(user.uid)).toEqual([]);

    const ready = await seedAsset(user, { status: "ready", version: 6 });
    const readyKey = await putOriginal(user.uid, ready.assetId, ready.size);
    expect((await uploadArrived(env, notification(readyKey))).outcome).toBe("already-past");
    expect(await assetRow(ready.assetId)).toMatchObject({ status: "ready", version: 6 });
  });
});

describe("keys and actions that are not an original's creation", () => {
  it.each([
    ["a thumb variant", "thumb"],
    ["a preview variant", "preview"],
  ] as const)("%s is ignored and its object kept", async (_, kind) => {
    const user = await seedUser();
    const { assetId } = await seedAsset(user, { status: "processing", version: 3 });
    const key = variantKey(user.uid, assetId, kind);
    await env.BUCKET.put(key, new Uint8Array(8));

    expect((await uploadArrived(env, notification(key, { size: 8 }))).outcome).toBe("ignored");
    expect(await assetRow(assetId)).toMatchObject({ status: "processing", version: 3 });
    expect(await env.BUCKET.head(key)).not.toBeNull();
    expect(await hubEvents(user.uid)).toEqual([]);
  });

  it.each([
    "uploads/photo.jpg",
    "u/not-a-uuid/also-not/original",
    "u/{uid}/{assetId}/original/extra",
    "u/{uid}/{assetId}/original.jpg",
    "prefix/u/{uid}/{assetId}/original",
    "u/{UID}/{assetId}/original",
  ])("the junk key %s is ignored, never treated as an orphan", async (pattern) => {
    const user = await seedUser();
    const { assetId } = await seedAsset(user);
    const key = pattern
      .replace("{uid}", user.uid)
      .replace("{UID}", user.uid.toUpperCase())
      .replace("{assetId}", assetId);
    await env.BUCKET.put(key, new Uint8Array(64));

    expect((await uploadArrived(env, notification(key, { size: 64 }))).outcome).toBe("ignored");
    expect(await env.BUCKET.head(key)).not.toBeNull();
    expect(await assetRow(assetId)).toMatchObject({ status: "pending", version: 1 });
  });

  it.each(["DeleteObject", "LifecycleDeletion"] as const)(
    "a %s action on an original is ignored",
    async (action) => {
      const user = await seedUser();
      const { assetId } = await seedAsset(user);
      const key = originalKey(user.uid, assetId);

      expect((await uploadArrived(env, notification(key, { action }))).outcome).toBe("ignored");
      expect(await assetRow(assetId)).toMatchObject({ status: "pending", version: 1 });
      expect(await hubEvents(user.uid)).toEqual([]);
    },
  );
});

describe("malformed notifications", () => {
  it.each([
    ["null", null],
    ["a string", "u/x/y/original"],
    ["an empty object", {}],
    ["a notification without an object", { ...notification("k"), object: undefined }],
    ["an unknown action", { ...notification("k"), action: "PutBucket" }],
    ["a negative size", notification("k", { size: -1 })],
  ])("%s is dropped and logged", async (_, body) => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    expect((await uploadArrived(env, body)).outcome).toBe("malformed");
    expect(error).toHaveBeenCalledWith(
      "uploads: malformed notification dropped",
      expect.any(String),
    );
  });
});

describe("ownership", () => {
  it("a key whose uid does not own the asset row leaves the row untouched", async () => {
    const owner = await seedUser();
    const other = await seedUser();
    const { assetId, size } = await seedAsset(owner);
    const key = await putOriginal(other.uid, assetId, size);
    vi.spyOn(console, "error").mockImplementation(() => {});

    expect((await uploadArrived(env, notification(key, { size }))).outcome).toBe("owner-mismatch");
    expect(await assetRow(assetId)).toMatchObject({
      user_id: owner.uid,
      status: "pending",
      version: 1,
    });
    expect(await hubEvents(owner.uid)).toEqual([]);
    expect(await hubEvents(other.uid)).toEqual([]);
  });

  it("an object for which no asset row exists is deleted from R2 as an orphan", async () => {
    const user = await seedUser();
    const assetId = crypto.randomUUID();
    const key = await putOriginal(user.uid, assetId, 64);

    expect((await uploadArrived(env, notification(key, { size: 64 }))).outcome).toBe(
      "orphan-removed",
    );
    expect(await env.BUCKET.head(key)).toBeNull();
    expect(await hubEvents(user.uid)).toEqual([]);
  });
});

describe("size checks", () => {
  it("a size different from the declared size fails the asset at stage upload and removes the object", async () => {
    const user = await seedUser();
    const { assetId } = await seedAsset(user, { size: 100 });
    const key = await putOriginal(user.uid, assetId, 50);

    expect((await uploadArrived(env, notification(key, { size: 50 }))).outcome).toBe("failed");

    const row = await assetRow(assetId);
    expect(row).toMatchObject({ status: "failed", version: 2 });
    expect(JSON.parse(row?.error ?? "null")).toMatchObject({
      stage: "upload",
      code: "size_mismatch",
    });
    expect(await env.BUCKET.head(key)).toBeNull();
    expect(await hubEvents(user.uid)).toEqual([
      {
        type: "asset",
        seq: 1,
        assetId,
        batchId: user.batchId,
        status: "failed",
        version: 2,
        error: { stage: "upload", code: "size_mismatch", message: expect.any(String) },
      },
    ]);
  });

  it("the failure is permanent: a redelivery neither revives the asset nor publishes again", async () => {
    const user = await seedUser();
    const { assetId } = await seedAsset(user, { size: 100 });
    const key = await putOriginal(user.uid, assetId, 50);
    const body = notification(key, { size: 50 });

    await uploadArrived(env, body);
    await uploadArrived(env, body);

    expect(await assetRow(assetId)).toMatchObject({ status: "failed", version: 2 });
    expect(await hubEvents(user.uid)).toHaveLength(1);
  });
});
