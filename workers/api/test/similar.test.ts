import { describe, expect, it } from "vitest";
import { VectorizeTestDouble } from "../../../packages/shared/test/vectorize-test-double";
import { shardIndexes } from "../../../test/workerd/shards";
import { call, makeEnv, signIn } from "./helpers";
import { axisVector, readyAsset, type SearchBody } from "./search-helpers";

async function similar(token: string, id: string, query = "", e?: Env) {
  const res = await call(`/api/assets/${id}/similar${query}`, { token, env: e });
  return { status: res.status, body: (await res.json()) as SearchBody };
}

const ids = (body: SearchBody) => body.results.map((r) => r.asset.id);

describe("GET /api/assets/:id/similar", () => {
  it("ranks the user's other photos by descriptor similarity and never returns the photo itself", async () => {
    const me = await signIn();
    const photo = await readyAsset(me.uid, { descriptor: axisVector(0) });
    const close = await readyAsset(me.uid, { descriptor: axisVector(0, 0.1) });
    const closer = await readyAsset(me.uid, { descriptor: axisVector(0, 0.02) });
    const far = await readyAsset(me.uid, { descriptor: axisVector(5) });

    const { status, body } = await similar(me.token, photo);

    expect(status).toBe(200);
    expect(ids(body)).toEqual([closer, close, far]);
    expect(body.results[0]?.score).toBeCloseTo(0.9998, 3);
    expect(body.results[2]?.score).toBeCloseTo(0, 5);
    expect(body.results[0]?.asset).toMatchObject({ id: closer, status: "ready" });
  });

  it("never returns another user's photos, and answers 404 for another user's asset", async () => {
    const me = await signIn();
    const mallory = await signIn();
    const mine = await readyAsset(me.uid, { descriptor: axisVector(3) });
    const hers = await readyAsset(mallory.uid, { descriptor: axisVector(3) });

    expect(ids((await similar(me.token, mine)).body)).toEqual([]);
    const foreign = await similar(me.token, hers);
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual({ error: { code: "not_found", message: "No such asset" } });
  });

  it("leaves out photos that are not ready", async () => {
    const me = await signIn();
    const photo = await readyAsset(me.uid, { descriptor: axisVector(7) });
    await readyAsset(me.uid, { descriptor: axisVector(7, 0.01), status: "deleting" });
    const ready = await readyAsset(me.uid, { descriptor: axisVector(7, 0.3) });

    expect(ids((await similar(me.token, photo)).body)).toEqual([ready]);
  });

  it("answers 409 for an asset that is not searchable yet", async () => {
    const me = await signIn();
    const { body: upload } = await (async () => {
      const res = await call("/api/uploads", {
        method: "POST",
        token: me.token,
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          files: [
            { clientId: "a", name: "a.jpg", size: 10, type: "image/jpeg", sha256: "ab".repeat(32) },
          ],
        }),
      });
      return { body: (await res.json()) as { files: { assetId: string }[] } };
    })();
    const id = upload.files[0]?.assetId ?? "";

    const res = await call(`/api/assets/${id}/similar`, { token: me.token });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: { code: "not_searchable" } });
  });

  it("bounds limit to 50", async () => {
    const me = await signIn();
    const photo = await readyAsset(me.uid, { descriptor: axisVector(9) });
    for (let i = 1; i <= 3; i++) await readyAsset(me.uid, { descriptor: axisVector(9, i / 10) });

    expect(ids((await similar(me.token, photo, "?limit=2")).body)).toHaveLength(2);
    expect((await similar(me.token, photo, "?limit=50")).status).toBe(200);
    for (const q of ["?limit=51", "?limit=0", "?limit=two"]) {
      expect((await similar(me.token, photo, q)).status, q).toBe(400);
    }
  });

  it("queries Vectorize filtered on the user's id when it is bound", async () => {
    const me = await signIn();
    const mallory = await signIn();
    const descriptors = VectorizeTestDouble.asDeployed(128, { immediate: true });
    const vectors = { descriptor: descriptors };
    const photo = await readyAsset(me.uid, { descriptor: axisVector(11), vectors });
    const close = await readyAsset(me.uid, { descriptor: axisVector(11, 0.1), vectors });
    await readyAsset(mallory.uid, { descriptor: axisVector(11, 0.01), vectors });
    const { env: e } = makeEnv(shardIndexes({ descriptor: descriptors }));

    const { body } = await similar(me.token, photo, "?limit=5", e);

    expect(ids(body)).toEqual([close]);
    expect(descriptors.queries).toEqual([
      expect.objectContaining({
        filter: { uid: me.uid },
        returnMetadata: "none",
        returnValues: false,
      }),
    ]);
  });
});
