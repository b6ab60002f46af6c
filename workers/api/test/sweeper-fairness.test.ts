// Issue 20, point 5: one user's flood of stale rows cannot starve another user's
// re-notification; the sweeper takes users in turns.
import { env } from "cloudflare:workers";
import { originalKey } from "@darkroom/shared";
import { describe, expect, it } from "vitest";
import { dbOf, placeTestUser, uidOnShard } from "../../../test/workerd/shards";
import { sweep } from "../src/sweeper";
import { makeEnv } from "./helpers";

const HOUR = 3_600_000;

/** Every user of this file in one shard: fairness is per shard (each is swept on its own). */
async function user(): Promise<string> {
  const uid = uidOnShard(0);
  await placeTestUser(uid);
  return uid;
}

/** A pending row idle since `at`, its URL valid for a day: the sweeper must look at it. */
async function pendingRow(uid: string, at: number) {
  const id = crypto.randomUUID();
  const stmt = (await dbOf(uid))
    .prepare(
      `INSERT INTO assets (id, user_id, batch_id, name, size, type, sha256, status, version,
       expires_at, created_at, updated_at)
     VALUES (?, ?, ?, 'p.jpg', 64, 'image/jpeg', ?, 'pending', 1, ?, ?, ?)`,
    )
    .bind(
      id,
      uid,
      crypto.randomUUID(),
      id.replaceAll("-", "").padEnd(64, "0"),
      at + 24 * HOUR,
      at,
      at,
    );
  return { id, stmt };
}

describe("the sweeper across users", () => {
  it("re-sends another user's one lost notification in the next sweep while one user floods", async () => {
    const now = Date.now();
    const flooder = await user();
    const other = await user();
    // More stale pending rows than one sweep takes, all older than the other user's.
    const flood = await Promise.all(
      Array.from({ length: 250 }, (_, i) => pendingRow(flooder, now - 3 * HOUR + i)),
    );
    const flooderDb = await dbOf(flooder);
    for (let i = 0; i < flood.length; i += 50) {
      await flooderDb.batch(flood.slice(i, i + 50).map((r) => r.stmt));
    }
    const lost = await pendingRow(other, now - HOUR);
    await lost.stmt.run();
    // The other user's bytes arrived; their notification was lost.
    await env.BUCKET.put(originalKey(other, lost.id), new Uint8Array(64));

    const { env: e, sent } = makeEnv();
    const report = await sweep(e, now);

    expect(report.renotified).toBeGreaterThanOrEqual(1);
    expect(sent).toContainEqual(
      expect.objectContaining({
        queue: "uploads",
        body: expect.objectContaining({
          object: expect.objectContaining({ key: originalKey(other, lost.id) }),
        }),
      }),
    );
  });
});
