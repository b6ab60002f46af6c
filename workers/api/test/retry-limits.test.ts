import { describe, expect, it } from "vitest";
import { everyShard } from "../../../test/workerd/shards";
import { LIMITS } from "../src/lib/limits/limits";
import {
  call,
  drainBucket,
  fileFor,
  jpegBytes,
  makeEnv,
  putUpload,
  refillSince,
  requestUploads,
  setStatus,
  signIn,
} from "./helpers";

const MAX_RETRIES = LIMITS.maxRetries.default;

/** Assets whose original is in R2, `uploaded`, in one batch. */
async function uploadedAssets(token: string, n: number) {
  const items = Array.from({ length: n }, () => jpegBytes(128));
  const { body } = await requestUploads(token, await Promise.all(items.map((b) => fileFor(b))));
  for (const [i, f] of body.files.entries()) {
    const bytes = items[i];
    if (!f.upload || !bytes) throw new Error("no ticket");
    expect((await putUpload(f.upload, bytes)).status).toBe(200);
    await setStatus(f.assetId, "uploaded");
  }
  return { batchId: body.batchId, ids: body.files.map((f) => f.assetId) };
}

/** What the processor does with a file it cannot decode. */
async function failProcessing(id: string) {
  await everyShard
    .prepare(
      `UPDATE assets SET status = 'failed', version = version + 1,
       error = '{"stage":"processing","code":"corrupt","message":"not a JPEG"}' WHERE id = ?`,
    )
    .bind(id)
    .run();
}

async function retries(id: string): Promise<number | undefined> {
  const row = await everyShard
    .prepare("SELECT retries FROM assets WHERE id = ?")
    .bind(id)
    .first<{ retries: number }>();
  return row?.retries;
}

describe("retry limits", () => {
  it("ends a retry loop of an always-failing photo at the retry cap with 409", async () => {
    const { token } = await signIn();
    const {
      ids: [id = ""],
    } = await uploadedAssets(token, 1);
    for (let i = 1; i <= MAX_RETRIES; i++) {
      await failProcessing(id);
      const res = await call(`/api/assets/${id}/retry`, { method: "POST", token });
      expect(res.status).toBe(200);
      expect(await retries(id)).toBe(i);
    }
    await failProcessing(id);
    const { env: e, sent } = makeEnv();
    const res = await call(`/api/assets/${id}/retry`, { method: "POST", token, env: e });
    expect(res.status).toBe(409);
    const body: { error: { code: string; message: string; details: unknown } } = await res.json();
    expect(body.error.code).toBe("retry_limit_reached");
    expect(body.error.message).toBe(
      `This photo failed again after ${MAX_RETRIES} retries, the most one photo gets (last error: corrupt). Delete it to upload it anew.`,
    );
    expect(body.error.details).toEqual({ retries: MAX_RETRIES, maxRetries: MAX_RETRIES });
    // Nothing was sent back through processing, and the photo says why it stays failed.
    expect(sent).toEqual([]);
    const asset: { status: string; retries: number } = await (
      await call(`/api/assets/${id}`, { token })
    ).json();
    expect(asset).toMatchObject({ status: "failed", retries: MAX_RETRIES });
  });

  it("skips photos past the cap in retry-failed, says how many, and refuses when only those are left", async () => {
    const { token } = await signIn();
    const { batchId, ids } = await uploadedAssets(token, 2);
    const [spent = "", fresh = ""] = ids;
    await failProcessing(spent);
    await everyShard
      .prepare("UPDATE assets SET retries = ? WHERE id = ?")
      .bind(MAX_RETRIES, spent)
      .run();
    await failProcessing(fresh);
    const res = await call(`/api/assets/retry-failed?batchId=${batchId}`, {
      method: "POST",
      token,
    });
    expect(await res.json()).toEqual({
      requeued: 1,
      reupload: 0,
      skipped: 0,
      retryLimitReached: 1,
    });
    const again = await call(`/api/assets/retry-failed?batchId=${batchId}`, {
      method: "POST",
      token,
    });
    expect(again.status).toBe(409);
    const body: { error: { code: string; message: string } } = await again.json();
    expect(body.error.code).toBe("retry_limit_reached");
    expect(body.error.message).toContain("1 failed photo(s)");
  });

  it("charges a retry-failed call one token per photo it sends back", async () => {
    const { token } = await signIn();
    // The test project refills 60 a minute; a slow machine may give some back meanwhile.
    const refilled = refillSince(60);
    const { batchId, ids } = await uploadedAssets(token, 3);
    for (const id of ids) await failProcessing(id);
    const res = await call(`/api/assets/retry-failed?batchId=${batchId}`, {
      method: "POST",
      token,
    });
    expect(res.status).toBe(200);
    // 3 new files, then 3 retries, of the test project's 250.
    const remaining = Number(res.headers.get("RateLimit-Remaining"));
    expect(remaining).toBeGreaterThanOrEqual(244);
    expect(remaining).toBeLessThanOrEqual(244 + refilled());
  });

  it("refuses a retry without tokens with 429, Retry-After and RateLimit headers, and sends nothing", async () => {
    const { token, uid } = await signIn();
    const {
      ids: [id = ""],
      batchId,
    } = await uploadedAssets(token, 1);
    await failProcessing(id);
    await drainBucket(uid, "work");
    const { env: e, sent } = makeEnv();
    for (const path of [`/api/assets/${id}/retry`, `/api/assets/retry-failed?batchId=${batchId}`]) {
      const res = await call(path, { method: "POST", token, env: e });
      expect(res.status).toBe(429);
      // One token at the test project's 60 a minute.
      expect(Number(res.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
      expect(Number(res.headers.get("Retry-After"))).toBeLessThanOrEqual(2);
      expect(res.headers.get("RateLimit-Policy")).toBe('"work";q=250;w=250');
      expect(res.headers.get("RateLimit")).toBe(`"work";r=0;t=${res.headers.get("Retry-After")}`);
      expect(res.headers.get("RateLimit-Remaining")).toBe("0");
      const body: { error: { code: string; message: string } } = await res.json();
      expect(body.error.code).toBe("rate_limited");
      expect(body.error.message).toMatch(/^Too many retries; try again in \d+ s$/);
    }
    expect(sent).toEqual([]);
    expect(await retries(id)).toBe(0);
  });
});
