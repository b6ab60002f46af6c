import { env } from "cloudflare:workers";
import {
  D1VectorIndex,
  type VectorIndex,
  VectorizeVectorIndex,
  type VectorKind,
  vectorDimensions,
} from "@darkroom/shared";
import { describe, expect, it } from "vitest";
import { VectorizeTestDouble } from "../../../packages/shared/test/vectorize-test-double";

/** A deterministic pseudo-random unit vector (mulberry32). */
function unitVector(seed: number, dimensions: number): Float32Array {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
  const v = Float32Array.from({ length: dimensions }, next);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** `base` moved a little towards `other`: more similar to `base` the smaller `t`. */
function blend(base: Float32Array, other: Float32Array, t: number): Float32Array {
  const v = base.map((x, i) => (1 - t) * x + t * (other[i] ?? 0));
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

type Backend = {
  name: string;
  make(kind: VectorKind): { index: VectorIndex; settle(): void };
};

const backends: Backend[] = [
  {
    name: "D1 (asset_vectors)",
    make: (kind) => ({ index: new D1VectorIndex(env.DB_0, kind), settle: () => {} }),
  },
  {
    name: "Vectorize (through its test double)",
    make: (kind) => {
      const binding = VectorizeTestDouble.asDeployed(vectorDimensions[kind]);
      return { index: new VectorizeVectorIndex(binding, kind), settle: () => binding.settle() };
    },
  },
];

const uid = () => crypto.randomUUID();
const id = () => crypto.randomUUID();

describe.each(backends)("the $name vector index", ({ make }) => {
  it("returns the user's nearest vectors by cosine similarity, best first", async () => {
    const { index, settle } = make("descriptor");
    const user = uid();
    const q = unitVector(1, 128);
    const far = unitVector(2, 128);
    const ids = { near: id(), middle: id(), far: id() };
    await index.upsert(user, ids.near, blend(q, far, 0.1));
    await index.upsert(user, ids.middle, blend(q, far, 0.5));
    await index.upsert(user, ids.far, far);
    settle();

    const matches = await index.query(user, q, 10);

    expect(matches.map((m) => m.assetId)).toEqual([ids.near, ids.middle, ids.far]);
    const [near, middle, farMatch] = matches;
    expect(near?.score).toBeGreaterThan(middle?.score ?? 1);
    expect(middle?.score).toBeGreaterThan(farMatch?.score ?? 1);
    // Cosine similarity of unit vectors: their dot product.
    const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * (b[i] ?? 0), 0);
    expect(farMatch?.score).toBeCloseTo(dot(q, far), 5);
    expect(near?.score).toBeLessThanOrEqual(1.000001);
  });

  it("never returns another user's vectors, even identical ones", async () => {
    const { index, settle } = make("descriptor");
    const alice = uid();
    const mallory = uid();
    const v = unitVector(3, 128);
    const aliceAsset = id();
    await index.upsert(alice, aliceAsset, v);
    await index.upsert(mallory, id(), v);
    await index.upsert(mallory, id(), blend(v, unitVector(4, 128), 0.05));
    settle();

    expect((await index.query(alice, v, 100)).map((m) => m.assetId)).toEqual([aliceAsset]);
    expect(await index.query(uid(), v, 100)).toEqual([]);
  });

  it("replaces an asset's vector on upsert", async () => {
    const { index, settle } = make("descriptor");
    const user = uid();
    const asset = id();
    const before = unitVector(5, 128);
    const after = unitVector(6, 128);
    await index.upsert(user, asset, before);
    settle();
    await index.upsert(user, asset, after);
    settle();

    const matches = await index.query(user, after, 10);
    expect(matches).toHaveLength(1);
    expect(matches[0]?.score).toBeCloseTo(1, 5);
  });

  it("removes deleted vectors and ignores ids it does not have", async () => {
    const { index, settle } = make("descriptor");
    const user = uid();
    const [keep, drop] = [id(), id()];
    const v = unitVector(7, 128);
    await index.upsert(user, keep, v);
    await index.upsert(user, drop, blend(v, unitVector(8, 128), 0.2));
    settle();

    await index.delete(user, [drop, id()]);
    await index.delete(user, []);
    settle();

    expect((await index.query(user, v, 10)).map((m) => m.assetId)).toEqual([keep]);
  });

  it("returns at most topK matches, and accepts a topK up to 100", async () => {
    const { index, settle } = make("descriptor");
    const user = uid();
    for (let i = 0; i < 30; i++) await index.upsert(user, id(), unitVector(100 + i, 128));
    settle();
    const q = unitVector(99, 128);

    expect(await index.query(user, q, 7)).toHaveLength(7);
    expect(await index.query(user, q, 100)).toHaveLength(30);
    // Out-of-range requests are clamped rather than refused.
    expect(await index.query(user, q, 1000)).toHaveLength(30);
    expect(await index.query(user, q, 0)).toHaveLength(1);
  });

  it("holds text vectors (768 dimensions) in their own index", async () => {
    const { index, settle } = make("text");
    const user = uid();
    const asset = id();
    const v = unitVector(9, 768);
    await index.upsert(user, asset, v);
    settle();

    expect(await index.query(user, v, 5)).toEqual([
      { assetId: asset, score: expect.closeTo(1, 5) },
    ]);
  });

  it("refuses a vector of the wrong size", async () => {
    const { index } = make("descriptor");
    await expect(index.upsert(uid(), id(), unitVector(10, 64))).rejects.toThrow(RangeError);
    await expect(index.query(uid(), unitVector(10, 768), 5)).rejects.toThrow(RangeError);
  });
});

describe("the Vectorize index", () => {
  it("filters every query on the user's id and asks for neither values nor metadata", async () => {
    const binding = VectorizeTestDouble.asDeployed(128, { immediate: true });
    const index = new VectorizeVectorIndex(binding, "descriptor");
    const user = uid();
    await index.upsert(user, id(), unitVector(11, 128));

    await index.query(user, unitVector(12, 128), 50);

    expect(binding.queries).toEqual([
      { topK: 50, filter: { uid: user }, returnValues: false, returnMetadata: "none" },
    ]);
  });

  it("says its inserts show up late, and they do (the D1 index shows them at once)", async () => {
    const binding = VectorizeTestDouble.asDeployed(128);
    const index = new VectorizeVectorIndex(binding, "descriptor");
    const user = uid();
    const v = unitVector(13, 128);
    await index.upsert(user, id(), v);

    expect(index.visibilityLagMs).toBeGreaterThan(0);
    expect(await index.query(user, v, 5)).toEqual([]);
    binding.settle();
    expect(await index.query(user, v, 5)).toHaveLength(1);
    expect(new D1VectorIndex(env.DB_0, "descriptor").visibilityLagMs).toBe(0);
  });
});

describe("the Vectorize test double filters as the metadata-filtering docs say", () => {
  it("takes topK from the filtered set, not the filter from the topK", async () => {
    const binding = VectorizeTestDouble.asDeployed(128, { immediate: true });
    const [alice, bob] = [uid(), uid()];
    const q = unitVector(20, 128);
    // Bob's vectors are all nearer than Alice's one.
    for (let i = 0; i < 30; i++) {
      await binding.upsert([
        {
          id: id(),
          values: Array.from(blend(q, unitVector(21 + i, 128), 0.01)),
          metadata: { uid: bob },
        },
      ]);
    }
    const hers = id();
    await binding.upsert([
      {
        id: hers,
        values: Array.from(blend(q, unitVector(60, 128), 0.5)),
        metadata: { uid: alice },
      },
    ]);

    const { matches } = await binding.query(q, { topK: 5, filter: { uid: alice } });

    expect(matches.map((m) => m.id)).toEqual([hers]);
  });

  it("finds nothing by a property without a metadata index, nor vectors upserted before it was made", async () => {
    const binding = new VectorizeTestDouble(128, { immediate: true });
    const user = uid();
    const [early, late] = [id(), id()];
    const v = unitVector(61, 128);
    await binding.upsert([{ id: early, values: Array.from(v), metadata: { uid: user } }]);

    expect((await binding.query(v, { filter: { uid: user } })).matches).toEqual([]);
    binding.createMetadataIndex("uid");
    await binding.upsert([{ id: late, values: Array.from(v), metadata: { uid: user } }]);
    expect((await binding.query(v, { filter: { uid: user } })).matches.map((m) => m.id)).toEqual([
      late,
    ]);
    // Re-upserting is how an early vector gets into the metadata index.
    await binding.upsert([{ id: early, values: Array.from(v), metadata: { uid: user } }]);
    expect((await binding.query(v, { filter: { uid: user } })).matches).toHaveLength(2);
  });

  it("supports $eq and $ne, and refuses the filters Vectorize refuses", async () => {
    const binding = VectorizeTestDouble.asDeployed(128, { immediate: true });
    const [alice, bob] = [uid(), uid()];
    const v = unitVector(62, 128);
    const [a, b] = [id(), id()];
    await binding.upsert([
      { id: a, values: Array.from(v), metadata: { uid: alice } },
      { id: b, values: Array.from(v), metadata: { uid: bob } },
    ]);

    const ids = async (filter: VectorizeVectorMetadataFilter) =>
      (await binding.query(v, { filter })).matches.map((m) => m.id);
    expect(await ids({ uid: { $eq: alice } })).toEqual([a]);
    expect(await ids({ uid: { $ne: alice } })).toEqual([b]);
    await expect(ids({})).rejects.toThrow(/empty/);
    await expect(ids({ $uid: alice })).rejects.toThrow(/key/);
    await expect(ids({ uid: "x".repeat(2100) })).rejects.toThrow(/2048/);
  });
});
