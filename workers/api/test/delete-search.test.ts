import { describe, expect, it } from "vitest";
import { VectorizeTestDouble } from "../../../packages/shared/test/vectorize-test-double";
import { everyShard, shardIndexes } from "../../../test/workerd/shards";
import { call, makeEnv, signIn } from "./helpers";
import { axisVector, readyAsset, type SearchBody } from "./search-helpers";

async function count(sql: string, id: string): Promise<number> {
  return (await everyShard.sum(sql).bind(id).first<{ n: number }>())?.n ?? 0;
}

describe("DELETE /api/assets/:id and search", () => {
  it("removes the asset's vectors, features and full-text document", async () => {
    const me = await signIn();
    const id = await readyAsset(me.uid, { name: "glacier.jpg", semantic: true });
    const other = await readyAsset(me.uid, { name: "glacier-2.jpg" });

    expect((await call(`/api/assets/${id}`, { method: "DELETE", token: me.token })).status).toBe(
      204,
    );

    expect(await count("SELECT COUNT(*) AS n FROM asset_vectors WHERE asset_id = ?", id)).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM asset_features WHERE asset_id = ?", id)).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM search_docs WHERE asset_id = ?", id)).toBe(0);
    // The FTS index no longer knows it (the delete trigger ran).
    const hits = await everyShard
      .prepare("SELECT rowid FROM search_fts WHERE search_fts MATCH 'glacier'")
      .all();
    expect(hits.results).toHaveLength(1);
    const body = (await (
      await call("/api/search?q=glacier", { token: me.token })
    ).json()) as SearchBody;
    expect(body.results.map((r) => r.asset.id)).toEqual([other]);
    const similar = (await (
      await call(`/api/assets/${other}/similar`, { token: me.token })
    ).json()) as SearchBody;
    expect(similar.results).toEqual([]);
  });

  it("removes the asset's vectors from Vectorize when it is bound", async () => {
    const me = await signIn();
    const descriptors = VectorizeTestDouble.asDeployed(128, { immediate: true });
    const texts = VectorizeTestDouble.asDeployed(768, { immediate: true });
    const vectors = { descriptor: descriptors, text: texts };
    const id = await readyAsset(me.uid, { descriptor: axisVector(1), vectors, semantic: true });
    const keep = await readyAsset(me.uid, { descriptor: axisVector(2), vectors, semantic: true });
    const { env: e } = makeEnv(shardIndexes(vectors));

    await call(`/api/assets/${id}`, { method: "DELETE", token: me.token, env: e });

    expect(await descriptors.getByIds([id, keep])).toEqual([expect.objectContaining({ id: keep })]);
    expect(await texts.getByIds([id, keep])).toEqual([expect.objectContaining({ id: keep })]);
  });

  it("clears nearDuplicateOf of the photos that pointed at the deleted one", async () => {
    const me = await signIn();
    const original = await readyAsset(me.uid);
    const copy = await readyAsset(me.uid);
    await everyShard
      .prepare("UPDATE assets SET near_duplicate_of = ? WHERE id = ?")
      .bind(original, copy)
      .run();
    const before = (await (await call(`/api/assets/${copy}`, { token: me.token })).json()) as {
      nearDuplicateOf: string | null;
    };
    expect(before.nearDuplicateOf).toBe(original);

    await call(`/api/assets/${original}`, { method: "DELETE", token: me.token });

    const after = (await (await call(`/api/assets/${copy}`, { token: me.token })).json()) as {
      nearDuplicateOf: string | null;
    };
    expect(after.nearDuplicateOf).toBeNull();
  });
});
