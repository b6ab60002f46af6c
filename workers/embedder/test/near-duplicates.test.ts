import { env } from "cloudflare:workers";
import { similarAssets, storeFor } from "@darkroom/shared";
import { describe, expect, it } from "vitest";
import { VectorizeTestDouble } from "../../../packages/shared/test/vectorize-test-double";
import { everyShard, shardIndexes } from "../../../test/workerd/shards";
import { runEmbedding } from "../src/process-embed";
import type { FixtureName } from "./fixtures";
import { assetRow, embedMessage, processedAsset, seedUser } from "./helpers";

type User = Awaited<ReturnType<typeof seedUser>>;

/** Uploads and embeds fixtures one after the other, like a drop processed in order. */
async function embedAll(user: User, fixtures: FixtureName[], e: Env = env) {
  const ids: string[] = [];
  for (const fixture of fixtures) {
    const id = await processedAsset(user, fixture);
    expect((await runEmbedding(e, embedMessage(user.uid, id))).outcome).toBe("completed");
    ids.push(id);
  }
  return ids;
}

const nearDuplicateOf = async (id: string) => (await assetRow(id))?.near_duplicate_of;

describe("near-duplicates", () => {
  it("marks a resized, re-encoded copy as a near-duplicate of the photo it copies", async () => {
    const user = await seedUser();
    const [saw = "", copy = ""] = await embedAll(user, ["saw.thumb.webp", "saw-copy.thumb.webp"]);

    expect(await nearDuplicateOf(copy)).toBe(saw);
    expect(await nearDuplicateOf(saw)).toBeNull();
  });

  it("never counts an unrelated photo as a near-duplicate", async () => {
    const user = await seedUser();
    const ids = await embedAll(user, [
      "saw.thumb.webp",
      "waterfall.thumb.webp",
      "concert.thumb.webp",
      "park.thumb.webp",
      "note.thumb.webp",
    ]);

    for (const id of ids) expect(await nearDuplicateOf(id)).toBeNull();
  });

  it("only looks among the user's own photos", async () => {
    const alice = await seedUser();
    const bob = await seedUser();
    await embedAll(alice, ["saw.thumb.webp"]);
    const [bobsCopy = ""] = await embedAll(bob, ["saw-copy.thumb.webp"]);

    expect(await nearDuplicateOf(bobsCopy)).toBeNull();
  });

  it("does not point a photo back at the copy that already points at it", async () => {
    const user = await seedUser();
    const [saw = "", copy = ""] = await embedAll(user, ["saw.thumb.webp", "saw-copy.thumb.webp"]);
    // The original is embedded again (a retry): the copy already points at it.
    await everyShard.prepare("UPDATE assets SET status = 'processed' WHERE id = ?").bind(saw).run();
    expect((await runEmbedding(env, embedMessage(user.uid, saw))).outcome).toBe("completed");

    expect(await nearDuplicateOf(saw)).toBeNull();
    expect(await nearDuplicateOf(copy)).toBe(saw);
  });

  it("finds a copy embedded moments after the original even while Vectorize has not applied the insert", async () => {
    const user = await seedUser();
    const descriptors = VectorizeTestDouble.asDeployed(128);
    const withVectorize: Env = { ...env, ...shardIndexes({ descriptor: descriptors }) };
    const [saw = "", copy = ""] = await embedAll(
      user,
      ["saw.thumb.webp", "saw-copy.thumb.webp"],
      withVectorize,
    );

    expect(descriptors.size).toBe(0);
    expect(await nearDuplicateOf(copy)).toBe(saw);
    descriptors.settle();
    expect(descriptors.size).toBe(2);
    // Each vector carries its owner, the metadata every query filters on.
    const stored = await descriptors.getByIds([saw, copy]);
    expect(stored.map((v) => v.metadata)).toEqual([{ uid: user.uid }, { uid: user.uid }]);
    expect(stored.map((v) => v.namespace)).toEqual([undefined, undefined]);
  });
});

describe("similar photos", () => {
  it("rank the resized, re-encoded copy first, and never the photo itself", async () => {
    const user = await seedUser();
    const [saw = "", copy = "", ...others] = await embedAll(user, [
      "saw.thumb.webp",
      "saw-copy.thumb.webp",
      "waterfall.thumb.webp",
      "concert.thumb.webp",
      "park.thumb.webp",
      "note.thumb.webp",
    ]);

    const ofSaw = (await similarAssets(env, await storeFor(env, user.uid), saw, 10)) ?? [];
    expect(ofSaw[0]?.assetId).toBe(copy);
    expect(ofSaw[0]?.score).toBeGreaterThan(0.99);
    expect(ofSaw.map((m) => m.assetId)).not.toContain(saw);
    expect(ofSaw.map((m) => m.assetId).sort()).toEqual([copy, ...others].sort());
    expect((await similarAssets(env, await storeFor(env, user.uid), copy, 10))?.[0]?.assetId).toBe(
      saw,
    );
  });

  it("never include another user's photos, even the same one", async () => {
    const alice = await seedUser();
    const bob = await seedUser();
    const [saw = ""] = await embedAll(alice, ["saw.thumb.webp"]);
    const bobs = await embedAll(bob, ["saw.thumb.webp", "saw-copy.thumb.webp"]);

    expect(await similarAssets(env, await storeFor(env, alice.uid), saw, 10)).toEqual([]);
    // Nor can one user ask about another's asset.
    expect(await similarAssets(env, await storeFor(env, alice.uid), bobs[0] ?? "", 10)).toBeNull();
  });

  it("are unknown (null) for an asset not embedded yet", async () => {
    const user = await seedUser();
    const id = await processedAsset(user, "saw.thumb.webp");
    expect(await similarAssets(env, await storeFor(env, user.uid), id, 10)).toBeNull();
  });
});
