// The pipeline's REDESCRIBE touch (pipeline.ts): claimless work on a `ready` photo that
// skipped AI. A race with a delete is reported as what it is, like a claimed stage's.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { recordingQueue } from "../../../test/workerd/queue-helpers";
import { everyShard } from "../../../test/workerd/shards";
import { runEmbedding } from "../src/process-embed";
import { redescribe } from "../src/redescribe";
import {
  assetRow,
  embedMessage,
  processedAsset,
  searchData,
  seedUser,
  withHookOnRead,
} from "./helpers";

/** A ready photo that skipped AI and is marked for a re-describe. */
async function markedReady(user: { uid: string; batchId: string }): Promise<string> {
  const assetId = await processedAsset(user, "saw.thumb.webp");
  const e = { ...env, EMBED_QUEUE: recordingQueue() };
  expect((await runEmbedding(e, embedMessage(user.uid, assetId))).outcome).toBe("completed");
  await everyShard.prepare("UPDATE assets SET redescribe_at = 1 WHERE id = ?").bind(assetId).run();
  return assetId;
}

describe("a re-describe", () => {
  it("rewrites a marked ready photo in place: same status, a new version", async () => {
    const user = await seedUser();
    const assetId = await markedReady(user);
    const before = await assetRow(assetId);
    const body = { assetId, uid: user.uid, redescribe: true };
    expect(await redescribe(env, body)).toEqual({ assetId, outcome: "completed" });
    expect(await assetRow(assetId)).toMatchObject({
      status: "ready",
      version: (before?.version ?? 0) + 1,
    });
  });

  it.each([
    ["set to deleting", "UPDATE assets SET status = 'deleting' WHERE id = ?"],
    ["deleted", "DELETE FROM assets WHERE id = ?"],
  ])("reports a photo %s while it works as deleted, and leaves nothing of it", async (_, sql) => {
    const user = await seedUser();
    const assetId = await markedReady(user);
    const racing = withHookOnRead(() => everyShard.prepare(sql).bind(assetId).run());
    const body = { assetId, uid: user.uid, redescribe: true };
    expect(await redescribe(racing, body)).toEqual({ assetId, outcome: "deleted-meanwhile" });
    expect(await searchData(assetId)).toEqual({
      features: 0,
      docs: 0,
      descriptorVectors: 0,
      textVectors: 0,
    });
  });

  it("leaves a photo whose mark was cleared meanwhile to whoever cleared it: superseded", async () => {
    const user = await seedUser();
    const assetId = await markedReady(user);
    const racing = withHookOnRead(() =>
      everyShard.prepare("UPDATE assets SET redescribe_at = NULL WHERE id = ?").bind(assetId).run(),
    );
    const body = { assetId, uid: user.uid, redescribe: true };
    expect(await redescribe(racing, body)).toEqual({ assetId, outcome: "superseded" });
    expect((await searchData(assetId)).features).toBe(1);
  });
});
