// Issue 21: a storage outage far longer than the queue's retries heals by itself. The
// queue is simulated on a virtual clock (each message arrives when its delay says, in
// order), so ten minutes of outage run in seconds and the run is the same on every machine.
import { env } from "cloudflare:workers";
import { DELIVERIES_BEFORE_DEAD_LETTER, embedMessageSchema, originalKey } from "@darkroom/shared";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  assetRow,
  deliver,
  notification,
  putOriginal,
  recordingQueue,
  seedAsset,
  seedUser,
  UPLOADS,
  UPLOADS_DLQ,
} from "./helpers";

afterEach(() => {
  vi.restoreAllMocks();
});

/** Every R2 write fails for this long (virtual seconds), then storage is back. */
const OUTAGE_SECONDS = 10 * 60;

type InFlight = { id: string; queue: string; body: unknown; attempts: number; due: number };

describe("a storage outage far longer than the queue's retries", () => {
  it("leaves every photo processed, none failed, with nobody pressing Retry", async () => {
    // Every draw at the top of its range: each backoff waits its longest (the worst case
    // for healing within the budget), and every injected fault fires.
    vi.spyOn(Math, "random").mockReturnValue(0.999);
    vi.spyOn(console, "error").mockImplementation(() => {});
    vi.spyOn(console, "log").mockImplementation(() => {});
    const user = await seedUser();
    const photos = await Promise.all(
      [0, 1].map(async () => {
        const { assetId, size } = await seedAsset(user);
        return { assetId, key: await putOriginal(user.uid, assetId, size), size };
      }),
    );
    const uploads = recordingQueue();
    const embeds = recordingQueue();
    let now = 0;
    let next = 0;
    const inFlight: InFlight[] = photos.map((p) => ({
      id: `m${next++}`,
      queue: UPLOADS,
      body: notification(p.key, { size: p.size }),
      attempts: 1,
      due: 0,
    }));
    let deliveries = 0;
    let deadLetters = 0;

    while (inFlight.length > 0 && deliveries < 500) {
      inFlight.sort((a, b) => a.due - b.due);
      const m = inFlight.shift();
      if (!m) break;
      now = Math.max(now, m.due);
      const outage = now < OUTAGE_SECONDS;
      const e: Env = {
        ...env,
        ...{ DARKROOM_FAULTS: outage ? "r2-put:1" : "" },
        UPLOADS_QUEUE: uploads,
        EMBED_QUEUE: embeds,
      };
      const r = await deliver(m.queue, [{ id: m.id, body: m.body, attempts: m.attempts }], e);
      deliveries += 1;
      const retry = r.retryMessages[0];
      if (retry) {
        // Queues' max_retries: past it the message goes to the dead-letter queue.
        if (m.attempts >= DELIVERIES_BEFORE_DEAD_LETTER) {
          deadLetters += 1;
          inFlight.push({ ...m, queue: UPLOADS_DLQ, attempts: 1, due: now });
        } else {
          inFlight.push({ ...m, attempts: m.attempts + 1, due: now + (retry.delaySeconds ?? 0) });
        }
      }
      for (const s of uploads.sent.splice(0)) {
        inFlight.push({
          id: `m${next++}`,
          queue: UPLOADS,
          body: s.body,
          attempts: 1,
          due: now + (s.delaySeconds ?? 0),
        });
      }
    }

    // The outage outlasted the queue's own retries many times over...
    expect(deadLetters).toBeGreaterThanOrEqual(2 * photos.length);
    expect(now).toBeGreaterThan(OUTAGE_SECONDS);
    // ...and still every photo was processed once storage came back, and handed on.
    for (const p of photos) {
      expect(await assetRow(p.assetId)).toMatchObject({ status: "processed", error: null });
      expect(await env.BUCKET.head(originalKey(user.uid, p.assetId))).not.toBeNull();
    }
    expect(embeds.sent.map((s) => embedMessageSchema.parse(s.body).assetId).sort()).toEqual(
      photos.map((p) => p.assetId).sort(),
    );
    expect(inFlight).toEqual([]);
  });
});
