import { describe, expect, it, vi } from "vitest";
import { AiTestDouble, asAiBinding } from "../../../packages/shared/test/ai-test-double";
import { VectorizeTestDouble } from "../../../packages/shared/test/vectorize-test-double";
import { shardIndexes } from "../../../test/workerd/shards";
import { call, makeEnv, signIn } from "./helpers";
import { readyAsset, type SearchBody } from "./search-helpers";

async function search(token: string, q: string, e?: Env) {
  const res = await call(`/api/search?q=${encodeURIComponent(q)}`, { token, env: e });
  return { status: res.status, body: (await res.json()) as SearchBody };
}

const ids = (body: SearchBody) => body.results.map((r) => r.asset.id);

describe("GET /api/search without AI (full-text mode)", () => {
  it("finds the user's photos by file name, EXIF fields, labels and caption words, prefix included", async () => {
    const me = await signIn();
    const beach = await readyAsset(me.uid, {
      name: "Beach_Sunset-2019.jpg",
      camera: { make: "FUJIFILM", model: "X-T3" },
      takenAt: Date.UTC(2019, 6, 4),
      labels: ["seashore", "orange"],
      caption: "Waves rolling onto a sandy beach",
    });
    const forest = await readyAsset(me.uid, { name: "IMG_0042.jpg", labels: ["green"] });

    for (const [q, expected] of [
      ["beach", [beach]],
      ["sunset 2019", [beach]],
      ["fujifilm", [beach]],
      ["x-t3", [beach]],
      ["july", [beach]],
      ["seashore", [beach]],
      ["waves sandy", [beach]],
      ["sea", [beach]],
      ["img_0042", [forest]],
      ["green", [forest]],
      ["volcano", []],
    ] as const) {
      const { status, body } = await search(me.token, q);
      expect(status, q).toBe(200);
      expect(body.mode).toBe("text");
      expect(ids(body), q).toEqual(expected);
    }
  });

  it("answers results as { asset, score } with the asset JSON, best match first", async () => {
    const me = await signIn();
    const inName = await readyAsset(me.uid, { name: "harbour.jpg" });
    const inCaption = await readyAsset(me.uid, { caption: "boats in the harbour at dusk" });

    const { body } = await search(me.token, "harbour");

    expect(ids(body)).toEqual([inName, inCaption]);
    const [first, second] = body.results;
    expect(first?.score).toBeGreaterThan(second?.score ?? Number.POSITIVE_INFINITY);
    expect(first?.asset).toMatchObject({ id: inName, status: "ready", labels: [] });
  });

  it("never returns another user's photos, nor photos that are not ready", async () => {
    const me = await signIn();
    const mallory = await signIn();
    const mine = await readyAsset(me.uid, { name: "lighthouse.jpg" });
    await readyAsset(mallory.uid, { name: "lighthouse.jpg" });
    await readyAsset(me.uid, { name: "lighthouse-2.jpg", status: "embedding" });
    await readyAsset(me.uid, { name: "lighthouse-3.jpg", status: "deleting" });

    expect(ids((await search(me.token, "lighthouse")).body)).toEqual([mine]);
    expect(ids((await search(mallory.token, "lighthouse")).body)).toHaveLength(1);
    expect(ids((await search(mallory.token, "lighthouse")).body)).not.toContain(mine);
  });

  it("treats FTS5 syntax in the query as words, never as an error", async () => {
    const me = await signIn();
    const bridge = await readyAsset(me.uid, { name: "golden gate AND bridge.jpg" });
    for (const q of [
      '"',
      '"bridge',
      "bridge AND",
      "AND",
      "OR NOT",
      "NEAR(bridge",
      "bridge*",
      "name:bridge",
      "user_key:u0",
      "{name}: bridge",
      "-bridge",
      "^bridge",
      "(bridge",
      "bridge)",
      "'; DROP TABLE assets; --",
      "🌉",
    ]) {
      const { status } = await search(me.token, q);
      expect(status, q).toBe(200);
    }
    expect(ids((await search(me.token, '"bridge')).body)).toEqual([bridge]);
    expect(ids((await search(me.token, "and")).body)).toEqual([bridge]);
    expect(ids((await search(me.token, '"')).body)).toEqual([]);
  });

  it("bounds limit to 50 and validates the query", async () => {
    const me = await signIn();
    for (let i = 0; i < 3; i++) await readyAsset(me.uid, { name: `kite-${i}.jpg` });

    const limited = await call("/api/search?q=kite&limit=2", { token: me.token });
    expect(((await limited.json()) as SearchBody).results).toHaveLength(2);
    expect((await call("/api/search?q=kite&limit=50", { token: me.token })).status).toBe(200);
    for (const q of [
      "q=kite&limit=51",
      "q=kite&limit=0",
      "q=kite&limit=x",
      "q=",
      "",
      `q=${"a".repeat(201)}`,
    ]) {
      const res = await call(`/api/search?${q}`, { token: me.token });
      expect(res.status, q).toBe(400);
    }
    expect((await call("/api/search?q=kite")).status).toBe(401);
  });
});

describe("GET /api/search with AI (semantic mode, through test doubles)", () => {
  function aiEnv(ai = new AiTestDouble()) {
    const text = VectorizeTestDouble.asDeployed(768, { immediate: true });
    const { env: e } = makeEnv({ AI: asAiBinding(ai), ...shardIndexes({ text }) });
    return { e, text, ai };
  }

  it("embeds the query like the captions and ranks by meaning, among the user's own vectors", async () => {
    const me = await signIn();
    const mallory = await signIn();
    const { e, text } = aiEnv();
    const waterfall = await readyAsset(me.uid, {
      caption: "A waterfall in a tropical forest",
      labels: ["waterfall"],
      vectors: { text },
      semantic: true,
    });
    const concert = await readyAsset(me.uid, {
      caption: "A crowd at a concert",
      labels: ["stage"],
      vectors: { text },
      semantic: true,
    });
    await readyAsset(mallory.uid, {
      caption: "A waterfall in a tropical forest",
      vectors: { text },
      semantic: true,
    });

    const { status, body } = await search(me.token, "waterfall in the forest", e);

    expect(status).toBe(200);
    expect(body.mode).toBe("semantic");
    expect(ids(body)[0]).toBe(waterfall);
    expect(ids(body).sort()).toEqual([waterfall, concert].sort());
    expect(text.queries.every((q) => q.filter?.uid === me.uid && !q.namespace)).toBe(true);
  });

  it("falls back to full-text search when AI answers 429", async () => {
    const me = await signIn();
    const lake = await readyAsset(me.uid, { caption: "A calm lake at dawn" });
    const { e } = aiEnv(new AiTestDouble("rate-limited"));
    vi.spyOn(console, "warn").mockImplementation(() => {});

    const { status, body } = await search(me.token, "lake", e);

    expect(status).toBe(200);
    expect(body.mode).toBe("text");
    expect(ids(body)).toEqual([lake]);
    vi.restoreAllMocks();
  });

  it("answers a query without any word with no results and no AI call", async () => {
    const me = await signIn();
    const { e, ai } = aiEnv();

    const { status, body } = await search(me.token, '"*"', e);

    expect(status).toBe(200);
    expect(body.results).toEqual([]);
    expect(ai.calls).toEqual([]);
  });
});
