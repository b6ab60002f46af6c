import { env } from "cloudflare:workers";
import { originalKey, variantKey } from "@darkroom/shared";
import { describe, expect, it } from "vitest";
import { everyShard } from "../../../test/workerd/shards";
import {
  call,
  fileFor,
  jpegBytes,
  makeEnv,
  putUpload,
  requestUploads,
  setStatus,
  tokenFor,
  uidFor,
  userName,
} from "./helpers";

type AssetBody = {
  id: string;
  batchId: string;
  status: string;
  version: number;
  sha256: string;
  urls: { original: string | null; thumb: string | null; preview: string | null };
  error: { stage: string; code: string; message: string } | null;
};
type ListBody = { assets: AssetBody[]; nextCursor: string | null };

async function uploaded(user: string, n = 1) {
  const token = await tokenFor(user);
  const items = await Promise.all(Array.from({ length: n }, () => jpegBytes(128)));
  const { body } = await requestUploads(token, await Promise.all(items.map((b) => fileFor(b))));
  for (const [i, f] of body.files.entries()) {
    const bytes = items[i];
    if (!f.upload || !bytes) throw new Error("no ticket");
    expect((await putUpload(f.upload, bytes)).status).toBe(200);
    await setStatus(f.assetId, "uploaded");
  }
  return { token, batchId: body.batchId, ids: body.files.map((f) => f.assetId) };
}

describe("GET /api/assets", () => {
  it("pages through a user's assets newest first with an opaque cursor", async () => {
    const user = userName();
    const token = await tokenFor(user);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { body } = await requestUploads(token, [await fileFor(jpegBytes())]);
      ids.push(body.files[0]?.assetId ?? "");
      await new Promise((r) => setTimeout(r, 2));
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await call(`/api/assets?limit=2${cursor ? `&cursor=${cursor}` : ""}`, { token });
      const page: ListBody = await res.json();
      expect(page.assets.length).toBeLessThanOrEqual(2);
      seen.push(...page.assets.map((a) => a.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
  });

  it("filters by status and batch", async () => {
    const user = userName();
    const a = await uploaded(user, 2);
    const token = await tokenFor(user);
    const { body } = await requestUploads(token, [await fileFor(jpegBytes())]);
    const byStatus: ListBody = await (await call("/api/assets?status=uploaded", { token })).json();
    expect(byStatus.assets.map((x) => x.id).sort()).toEqual([...a.ids].sort());
    const byBatch: ListBody = await (
      await call(`/api/assets?batchId=${body.batchId}`, { token })
    ).json();
    expect(byBatch.assets.map((x) => x.id)).toEqual([body.files[0]?.assetId]);
  });

  it("refuses bad query parameters with a 400", async () => {
    const token = await tokenFor(userName());
    for (const q of [
      "limit=0",
      "limit=101",
      "status=deleting",
      "status=bogus",
      "batchId=x",
      "cursor=%%%",
    ]) {
      expect((await call(`/api/assets?${q}`, { token })).status, q).toBe(400);
    }
  });
});

describe("GET /api/assets/:id", () => {
  it("returns the asset JSON with a signed original URL once uploaded", async () => {
    const { token, ids, batchId } = await uploaded(userName());
    const res = await call(`/api/assets/${ids[0]}`, { token });
    expect(res.status).toBe(200);
    const a: AssetBody = await res.json();
    expect(a).toMatchObject({ id: ids[0], batchId, status: "uploaded", error: null });
    expect(a.urls.original).toMatch(new RegExp(`^/api/media/${ids[0]}/original\\?exp=\\d+&sig=`));
    expect(a.urls.thumb).toBeNull();
    expect(a.urls.preview).toBeNull();
  });

  it("says what the processor found the original to be, and whether it was animated", async () => {
    const { token, ids } = await uploaded(userName());
    const id = ids[0] ?? "";
    const before: { format: string | null; animated: boolean } = await (
      await call(`/api/assets/${id}`, { token })
    ).json();
    expect(before).toMatchObject({ format: null, animated: false });
    const variant = { width: 32, height: 32, bytes: 10 };
    await everyShard
      .prepare("UPDATE assets SET variants = ? WHERE id = ?")
      .bind(
        JSON.stringify({
          thumb: variant,
          preview: variant,
          source: { format: "gif", animated: true },
        }),
        id,
      )
      .run();
    const after = await (await call(`/api/assets/${id}`, { token })).json();
    expect(after).toMatchObject({ format: "gif", animated: true, variants: { thumb: variant } });
  });

  it("has no original URL while pending", async () => {
    const token = await tokenFor(userName());
    const { body } = await requestUploads(token, [await fileFor(jpegBytes())]);
    const a: AssetBody = await (
      await call(`/api/assets/${body.files[0]?.assetId}`, { token })
    ).json();
    expect(a.status).toBe("pending");
    expect(a.urls.original).toBeNull();
  });

  it("answers another user's asset as 404, for reading, deleting and retrying alike", async () => {
    const { ids } = await uploaded(userName());
    const mallory = await tokenFor(userName());
    const id = ids[0];
    for (const [method, path] of [
      ["GET", `/api/assets/${id}`],
      ["DELETE", `/api/assets/${id}`],
      ["POST", `/api/assets/${id}/retry`],
    ] as const) {
      const res = await call(path, { method, token: mallory });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(await res.json()).toEqual({ error: { code: "not_found", message: "No such asset" } });
    }
    const list: ListBody = await (await call("/api/assets", { token: mallory })).json();
    expect(list.assets).toEqual([]);
    const stats = await (await call("/api/stats", { token: mallory })).json();
    expect(stats).toMatchObject({ total: 0 });
  });

  it("answers a malformed id as 404", async () => {
    const token = await tokenFor(userName());
    expect((await call("/api/assets/not-a-uuid", { token })).status).toBe(404);
  });
});

describe("DELETE /api/assets/:id", () => {
  it("removes the original, the variants and the row, and frees the hash for a new upload", async () => {
    const user = userName();
    const { token, ids } = await uploaded(user);
    const id = ids[0] ?? "";
    const uid = await uidFor(user);
    await env.BUCKET.put(variantKey(uid, id, "thumb"), "thumb");
    const sha = (
      await everyShard
        .prepare("SELECT sha256 FROM assets WHERE id = ?")
        .bind(id)
        .first<{ sha256: string }>()
    )?.sha256;

    const res = await call(`/api/assets/${id}`, { method: "DELETE", token });
    expect(res.status).toBe(204);
    expect(await env.BUCKET.head(originalKey(uid, id))).toBeNull();
    expect(await env.BUCKET.head(variantKey(uid, id, "thumb"))).toBeNull();
    expect((await call(`/api/assets/${id}`, { token })).status).toBe(404);

    const again = await requestUploads(token, [
      { clientId: "x", name: "a.jpg", size: 128, type: "image/jpeg", sha256: sha },
    ]);
    expect(again.body.files[0]?.status).toBe("upload");
    expect(again.body.files[0]?.assetId).not.toBe(id);
  });

  it("publishes a deleted event with a higher version", async () => {
    const user = userName();
    const { token, ids } = await uploaded(user);
    await call(`/api/assets/${ids[0]}`, { method: "DELETE", token });
    const hub = env.USER_HUB.get(env.USER_HUB.idFromName(await uidFor(user)));
    const { events } = await hub.eventsSince(0);
    const mine = events.filter((e) => e.assetId === ids[0]);
    expect(mine.at(-1)?.status).toBe("deleted");
    expect(mine.at(-1)?.version).toBeGreaterThan(mine.at(0)?.version ?? 0);
  });
});

describe("GET /api/stats", () => {
  it("counts a user's assets per status, and per batch", async () => {
    const user = userName();
    const a = await uploaded(user, 3);
    const token = await tokenFor(user);
    const { body } = await requestUploads(token, [
      await fileFor(jpegBytes()),
      await fileFor(jpegBytes()),
    ]);
    await everyShard
      .prepare("UPDATE assets SET status = 'failed' WHERE id = ?")
      .bind(a.ids[0])
      .run();
    expect(await (await call("/api/stats", { token })).json()).toEqual({
      total: 5,
      pending: 2,
      uploaded: 2,
      processing: 0,
      processed: 0,
      embedding: 0,
      ready: 0,
      failed: 1,
    });
    expect(
      await (await call(`/api/stats?batchId=${body.batchId}`, { token })).json(),
    ).toMatchObject({
      total: 2,
      pending: 2,
    });
  });
});

describe("retry", () => {
  it("requeues an asset that failed in processing at the processing stage", async () => {
    const user = userName();
    const { token, ids } = await uploaded(user);
    const id = ids[0] ?? "";
    await everyShard
      .prepare(
        `UPDATE assets SET status = 'failed', error = '{"stage":"processing","code":"corrupt","message":"x"}' WHERE id = ?`,
      )
      .bind(id)
      .run();
    const { env: e, sent } = makeEnv();
    const res = await call(`/api/assets/${id}/retry`, { method: "POST", token, env: e });
    expect(res.status).toBe(200);
    const body: { outcome: string; asset: AssetBody } = await res.json();
    expect(body.outcome).toBe("requeued");
    expect(body.asset.status).toBe("uploaded");
    expect(body.asset.error).toBeNull();
    expect(sent).toEqual([
      { queue: "uploads", body: expect.objectContaining({ action: "PutObject" }) },
    ]);
  });

  it("requeues a failed embedding at the embedding stage", async () => {
    const user = userName();
    const { token, ids } = await uploaded(user);
    const id = ids[0] ?? "";
    await everyShard
      .prepare(
        `UPDATE assets SET status = 'failed', error = '{"stage":"embedding","code":"retries_exhausted","message":"x"}' WHERE id = ?`,
      )
      .bind(id)
      .run();
    const { env: e, sent } = makeEnv();
    const res = await call(`/api/assets/${id}/retry`, { method: "POST", token, env: e });
    const body: { asset: AssetBody } = await res.json();
    expect(body.asset.status).toBe("processed");
    expect(sent).toEqual([{ queue: "embed", body: { assetId: id, uid: await uidFor(user) } }]);
  });

  it("refuses to retry an asset that has not failed", async () => {
    const { token, ids } = await uploaded(userName());
    const res = await call(`/api/assets/${ids[0]}/retry`, { method: "POST", token });
    expect(res.status).toBe(409);
  });

  it("retries every failed asset of a batch", async () => {
    const user = userName();
    const { token, ids, batchId } = await uploaded(user, 3);
    for (const id of ids.slice(0, 2)) {
      await everyShard
        .prepare(
          `UPDATE assets SET status = 'failed', error = '{"stage":"processing","code":"corrupt","message":"x"}' WHERE id = ?`,
        )
        .bind(id)
        .run();
    }
    const res = await call(`/api/assets/retry-failed?batchId=${batchId}`, {
      method: "POST",
      token,
    });
    expect(await res.json()).toEqual({
      requeued: 2,
      reupload: 0,
      skipped: 0,
      retryLimitReached: 0,
    });
    expect(await (await call(`/api/stats?batchId=${batchId}`, { token })).json()).toMatchObject({
      uploaded: 3,
      failed: 0,
    });
  });
});
