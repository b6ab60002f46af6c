// Issue 21: storage writes failing for five minutes, then recovering, leave every photo of
// the drop `ready` and none `failed`, with nobody pressing Retry. The queues are simulated
// on a virtual clock (each message arrives when its delay says, dead letters after
// Queues' max_retries), so the outage runs in seconds and the same on every machine: no
// assertion depends on the wall clock. Each message goes to the worker that consumes its
// queue: the processor (uploads) or the embedder (embed).
import { createMessageBatch } from "cloudflare:test";
import { env } from "cloudflare:workers";
import {
  DELIVERIES_BEFORE_DEAD_LETTER,
  originalKey,
  QUEUES_MAX_DELAY_SECONDS,
  type R2Notification,
} from "@darkroom/shared";
import { afterEach, describe, expect, it, vi } from "vitest";
import embedder from "../../workers/embedder/src/index";
import processor from "../../workers/processor/src/index";
import { recordingQueue } from "../workerd/queue-helpers";
import { seedUser } from "../workerd/seed";
import { dbOf, everyShard } from "../workerd/shards";

afterEach(() => {
  vi.restoreAllMocks();
});

/** Every R2 write fails for this long (virtual seconds), then storage is back. */
const OUTAGE_SECONDS = 5 * 60;
const UPLOADS = "darkroom-uploads";
const EMBED = "darkroom-embed";

type InFlight = { id: string; queue: string; body: unknown; attempts: number; due: number };

const photo = Uint8Array.from(atob(env.PHOTO), (c) => c.charCodeAt(0));

async function seedPhoto(owner: { uid: string; batchId: string }): Promise<string> {
  const assetId = crypto.randomUUID();
  const now = Date.now();
  await (await dbOf(owner.uid))
    .prepare(
      `INSERT INTO assets (id, user_id, batch_id, name, size, type, sha256, status, version,
       expires_at, created_at, updated_at)
     VALUES (?, ?, ?, 'photo.jpg', ?, 'image/jpeg', ?, 'pending', 1, ?, ?, ?)`,
    )
    .bind(
      assetId,
      owner.uid,
      owner.batchId,
      photo.byteLength,
      assetId.replaceAll("-", "").padEnd(64, "0"),
      now + 3_600_000,
      now,
      now,
    )
    .run();
  await env.BUCKET.put(originalKey(owner.uid, assetId), photo);
  return assetId;
}

function notificationOf(key: string): R2Notification {
  return {
    account: "local",
    action: "PutObject",
    bucket: "darkroom-originals",
    object: { key, size: photo.byteLength, eTag: "etag" },
    eventTime: new Date().toISOString(),
  };
}

describe("a five-minute storage outage", () => {
  it("leaves every photo of the drop ready, none failed, with nobody pressing Retry", async () => {
    // Every draw at the top of its range: each backoff waits its longest (the worst case
    // for healing within the budget), and every injected fault fires.
    vi.spyOn(Math, "random").mockReturnValue(0.999);
    vi.spyOn(console, "error").mockImplementation(() => {});
    vi.spyOn(console, "log").mockImplementation(() => {});
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const user = await seedUser();
    const assetIds = await Promise.all([0, 1, 2].map(() => seedPhoto(user)));
    const queues = { [UPLOADS]: recordingQueue(), [EMBED]: recordingQueue() };
    let now = 0;
    let next = 0;
    const inFlight: InFlight[] = assetIds.map((assetId) => ({
      id: `m${next++}`,
      queue: UPLOADS,
      body: notificationOf(originalKey(user.uid, assetId)),
      attempts: 1,
      due: 0,
    }));
    let deliveries = 0;
    let deadLetters = 0;
    const delays: number[] = [];

    while (inFlight.length > 0 && deliveries < 1000) {
      inFlight.sort((a, b) => a.due - b.due);
      const m = inFlight.shift();
      if (!m) break;
      now = Math.max(now, m.due);
      const e: Env = {
        ...env,
        ...{ DARKROOM_FAULTS: now < OUTAGE_SECONDS ? "r2-put:1" : "" },
        UPLOADS_QUEUE: queues[UPLOADS],
        EMBED_QUEUE: queues[EMBED],
      };
      const batch = createMessageBatch(m.queue, [
        { id: m.id, timestamp: new Date(), attempts: m.attempts, body: m.body },
      ]);
      let retryDelay: number | null = null;
      for (const msg of batch.messages) {
        msg.retry = (options) => {
          retryDelay = options?.delaySeconds ?? 0;
        };
      }
      const base = m.queue.replace(/-dlq$/, "");
      const worker = base === UPLOADS ? processor : embedder;
      await worker.queue(batch, e);
      deliveries += 1;
      if (retryDelay !== null) {
        delays.push(retryDelay);
        // Queues' max_retries: past it the message goes to the dead-letter queue.
        if (m.attempts >= DELIVERIES_BEFORE_DEAD_LETTER) {
          deadLetters += 1;
          inFlight.push({ ...m, queue: `${base}-dlq`, attempts: 1, due: now });
        } else {
          inFlight.push({ ...m, attempts: m.attempts + 1, due: now + retryDelay });
        }
      }
      for (const [queue, recorded] of Object.entries(queues)) {
        for (const s of recorded.sent.splice(0)) {
          delays.push(s.delaySeconds ?? 0);
          inFlight.push({
            id: `m${next++}`,
            queue,
            body: s.body,
            attempts: 1,
            due: now + (s.delaySeconds ?? 0),
          });
        }
      }
    }

    // The outage outlasted the queue's own retries: every photo's notification
    // dead-lettered at least once and was re-driven, never past what Queues accepts.
    expect(deadLetters).toBeGreaterThanOrEqual(assetIds.length);
    expect(now).toBeGreaterThan(OUTAGE_SECONDS);
    expect(Math.max(...delays)).toBeLessThanOrEqual(QUEUES_MAX_DELAY_SECONDS);
    expect(inFlight).toEqual([]);
    // ...and every photo went through processing and embedding once storage came back.
    const { results } = await everyShard
      .prepare(`SELECT id, status, error FROM assets WHERE user_id = ? ORDER BY id`)
      .bind(user.uid)
      .all();
    expect(results).toEqual(
      [...assetIds].sort().map((id) => ({ id, status: "ready", error: null })),
    );
    // No Retry was pressed: nothing counted one.
    const retried = await everyShard
      .sum(
        "SELECT count(*) AS n FROM assets WHERE user_id = ? AND (retries > 0 OR retried_at IS NOT NULL)",
      )
      .bind(user.uid)
      .first<{ n: number }>();
    expect(retried?.n).toBe(0);
    // Each photo was embedded: its features are there for search and near-duplicates.
    const embedded = new Set<string>();
    for (const id of assetIds) {
      const feature = await everyShard
        .prepare("SELECT asset_id FROM asset_features WHERE asset_id = ?")
        .bind(id)
        .first<{ asset_id: string }>();
      if (feature) embedded.add(feature.asset_id);
    }
    expect([...embedded].sort()).toEqual([...assetIds].sort());
  });
});
