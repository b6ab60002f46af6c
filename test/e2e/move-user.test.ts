import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack } from "../../scripts/lib/stack.mjs";
import { png } from "./png";

// Issue 22 point 5 in real workerd: the whole local stack (`npm run dev`: api, processor,
// embedder, local D1 shards, R2, queues) on a free port with its own state. A batch is
// registered, part of it uploaded and finished, part in flight, part not yet sent; the
// user is moved to the other shard through the operator route; the rest is uploaded with
// the URLs issued before the move. Whatever the interleaving (nothing here waits for a
// time, only for states), every photo must end `ready` once, on the new shard only.

type Upload = { url: string; method: string; headers: Record<string, string> };
type Registered = { clientId: string; assetId: string; status: string; upload?: Upload };
type Asset = { id: string; status: string; urls: { thumb: string | null } };

const OPERATOR = `mover-ops-${randomBytes(4).toString("hex")}`;
const FILES = 8;
let stack: Awaited<ReturnType<typeof startStack>> | undefined;

beforeAll(async () => {
  stack = await startStack({ sweepSeconds: 5, env: { OPERATOR_SUBS: OPERATOR } });
});

afterAll(async () => {
  await stack?.stop();
});

function url(path: string): string {
  if (!stack) throw new Error("no stack");
  return `${stack.url}${path}`;
}

/** A request, waiting out 429 and 503 (a held user's answer) as a client does. */
async function call(path: string, init: RequestInit = {}): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(path.startsWith("http") ? path : url(path), init);
    if ((res.status !== 429 && res.status !== 503) || attempt > 60) return res;
    const wait = Number(res.headers.get("Retry-After") ?? "1");
    await new Promise((r) => setTimeout(r, Math.min(10, Math.max(1, wait)) * 1000));
  }
}

async function tokenOf(user: string): Promise<Record<string, string>> {
  const res = await call("/api/dev/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user }),
  });
  const { token } = (await res.json()) as { token: string };
  return { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
}

async function json<T>(path: string, headers: Record<string, string>, init: RequestInit = {}) {
  const res = await call(path, { ...init, headers });
  const text = await res.text();
  expect(res.status, `${path}: ${text}\n${stack?.output().slice(-3000)}`).toBe(200);
  return JSON.parse(text) as T;
}

/** Polls the batch until every asset is past `until` (or failed); returns the assets. */
async function settle(
  auth: Record<string, string>,
  batchId: string,
  ids: string[],
  done: (s: string) => boolean,
) {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const { assets } = await json<{ assets: Asset[] }>(
      `/api/assets?batchId=${batchId}&limit=100`,
      auth,
    );
    const mine = assets.filter((a) => ids.includes(a.id));
    if (mine.length === ids.length && mine.every((a) => done(a.status) || a.status === "failed"))
      return mine;
    if (Date.now() > deadline)
      throw new Error(`not settled: ${JSON.stringify(mine.map((a) => a.status))}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

describe("moving a user between shards in the middle of an upload", () => {
  it("ends with every photo ready exactly once, on the new shard, counted and searchable", async () => {
    const auth = await tokenOf(`mover-${randomBytes(4).toString("hex")}`);
    const ops = await tokenOf(OPERATOR);
    const photos = Array.from({ length: FILES }, (_, i) => {
      const bytes = png(48 + i, 32);
      return {
        name: `harbour-${i}.png`,
        bytes,
        sha256: createHash("sha256").update(bytes).digest("hex"),
      };
    });
    const registered = await json<{ batchId: string; files: Registered[] }>("/api/uploads", auth, {
      method: "POST",
      body: JSON.stringify({
        files: photos.map((p, i) => ({
          clientId: `c${i}`,
          name: p.name,
          size: p.bytes.length,
          type: "image/png",
          sha256: p.sha256,
        })),
      }),
    });
    const { batchId, files } = registered;
    const ids = files.map((f) => f.assetId);
    const put = async (i: number) => {
      const upload = files[i]?.upload;
      if (!upload) throw new Error(`no upload for file ${i}`);
      const res = await call(upload.url, {
        method: "PUT",
        headers: upload.headers,
        body: photos[i]?.bytes,
      });
      expect(res.status, await res.text()).toBe(200);
    };

    // Three finished before the move, two sent just before it (in flight, at whatever
    // stage the move finds them), three sent after it.
    for (const i of [0, 1, 2]) await put(i);
    await settle(auth, batchId, ids.slice(0, 3), (s) => s === "ready");
    for (const i of [3, 4]) await put(i);

    const owner = await json<{ userId: string }>(`/api/ops/assets/${ids[0]}`, ops);
    const uid = owner.userId;
    const before = await json<{ shard: number }>(`/api/ops/users/${uid}`, ops);
    const target = 1 - before.shard;
    const moved = await json<{
      outcome: string;
      source: number;
      target: number;
      rows: number;
      heldMs: number;
    }>(`/api/ops/users/${uid}/move`, ops, {
      method: "POST",
      body: JSON.stringify({ shard: target }),
    });
    expect(moved).toMatchObject({ outcome: "moved", source: before.shard, target });
    console.log(`move of ${moved.rows} rows: writes held ${moved.heldMs} ms`);

    for (const i of [5, 6, 7]) await put(i);
    const assets = await settle(auth, batchId, ids, (s) => s === "ready");
    expect(assets.map((a) => a.status)).toEqual(ids.map(() => "ready"));
    expect(new Set(assets.map((a) => a.id)).size).toBe(FILES);

    // Exactly once: every row on the new shard, none left on the old one.
    const after = await json<{
      shard: number;
      move: unknown;
      shards: { shard: number; assets: number }[];
    }>(`/api/ops/users/${uid}`, ops);
    expect(after.shard).toBe(target);
    expect(after.move).toBeNull();
    expect(after.shards.find((s) => s.shard === target)?.assets).toBe(FILES);
    expect(after.shards.find((s) => s.shard === before.shard)?.assets).toBe(0);
    // The counters (what /api/stats reads) agree with the rows.
    const stats = await json<{ total: number; ready: number }>("/api/stats", auth);
    expect(stats).toMatchObject({ total: FILES, ready: FILES });
    // Every photo readable, and found by search on the new shard.
    for (const a of assets) {
      if (!a.urls.thumb) throw new Error(`no thumb for ${a.id}`);
      const thumb = await call(a.urls.thumb);
      expect(thumb.status).toBe(200);
      await thumb.arrayBuffer();
    }
    const found = await json<{ results: { asset: { id: string } }[] }>(
      "/api/search?q=harbour&limit=50",
      auth,
    );
    expect(found.results.map((r) => r.asset.id).sort()).toEqual([...ids].sort());
  });
});
