import { env } from "cloudflare:workers";
import { originalKey, PROCESSING_LEASE_MS, UPLOADED_IDLE_MS } from "@darkroom/shared";
import { describe, expect, it } from "vitest";
import { everyShard } from "../../../test/workerd/shards";
import { sweep } from "../src/sweeper";
import { fileFor, jpegBytes, makeEnv, requestUploads, tokenFor, uidFor, userName } from "./helpers";

async function assetIn(status: string, claimedAgoMs: number | null, idleMs: number) {
  const user = userName();
  const bytes = jpegBytes(64);
  const { body } = await requestUploads(await tokenFor(user), [await fileFor(bytes)]);
  const assetId = body.files[0]?.assetId ?? "";
  const uid = await uidFor(user);
  await env.BUCKET.put(originalKey(uid, assetId), bytes);
  const now = Date.now();
  await everyShard
    .prepare("UPDATE assets SET status = ?, claimed_at = ?, updated_at = ? WHERE id = ?")
    .bind(status, claimedAgoMs === null ? null : now - claimedAgoMs, now - idleMs, assetId)
    .run();
  return { assetId, key: originalKey(uid, assetId) };
}

const sentFor = (sent: { body: unknown }[], key: string) =>
  sent.filter((s) => JSON.stringify(s.body).includes(key));

describe("sweeper: uploaded and processing", () => {
  it("re-sends the notification for an uploaded asset idle past its timeout, once per period", async () => {
    const a = await assetIn("uploaded", null, UPLOADED_IDLE_MS + 1000);
    const first = makeEnv();
    await sweep(first.env);
    expect(sentFor(first.sent, a.key)).toEqual([
      {
        queue: "uploads",
        body: expect.objectContaining({
          action: "PutObject",
          object: expect.objectContaining({ key: a.key }),
        }),
      },
    ]);
    const second = makeEnv();
    await sweep(second.env);
    expect(sentFor(second.sent, a.key)).toEqual([]);
  });

  it("leaves a recently uploaded asset to its message", async () => {
    const a = await assetIn("uploaded", null, 1000);
    const { env: e, sent } = makeEnv();
    await sweep(e);
    expect(sentFor(sent, a.key)).toEqual([]);
  });

  it("re-sends for a processing claim older than the lease, not for a live one", async () => {
    const dead = await assetIn(
      "processing",
      PROCESSING_LEASE_MS + 5000,
      PROCESSING_LEASE_MS + 5000,
    );
    const live = await assetIn("processing", 10_000, 10_000);
    const { env: e, sent } = makeEnv();
    const report = await sweep(e);
    expect(report.reprocessed).toBeGreaterThanOrEqual(1);
    expect(sentFor(sent, dead.key)).toHaveLength(1);
    expect(sentFor(sent, live.key)).toEqual([]);
  });

  it("honours UPLOADED_IDLE_SECONDS and PROCESSING_LEASE_SECONDS shortened by the deployment", async () => {
    // 30 s: well within the default two minutes, past the shortened 20 s.
    const uploaded = await assetIn("uploaded", null, 30_000);
    const processing = await assetIn("processing", 30_000, 30_000);
    const defaults = makeEnv();
    await sweep(defaults.env);
    expect(sentFor(defaults.sent, uploaded.key)).toEqual([]);
    expect(sentFor(defaults.sent, processing.key)).toEqual([]);

    const short = makeEnv({}, { UPLOADED_IDLE_SECONDS: "20", PROCESSING_LEASE_SECONDS: "20" });
    await sweep(short.env);

    expect(sentFor(short.sent, uploaded.key)).toHaveLength(1);
    expect(sentFor(short.sent, processing.key)).toHaveLength(1);
  });

  it("refuses to sweep with a timing that is not a positive number of seconds, naming the var", async () => {
    const { env: e } = makeEnv({}, { PROCESSING_LEASE_SECONDS: "-5" });
    await expect(sweep(e)).rejects.toThrow(/PROCESSING_LEASE_SECONDS = "-5"/);
  });
});
