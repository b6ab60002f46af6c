import type { QueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { type AssetFrame, originalKey, type R2Notification } from "@darkroom/shared";
import { type Delivery, deliverBatch, hubEventsOf } from "../../../test/workerd/queue-helpers";
import { dbOf, everyShard } from "../../../test/workerd/shards";
import worker from "../src/index";
import { fixture } from "./fixtures";

/** A small real photo (400x267 greyscale JPEG) that goes all the way to `processed`. */
export const PHOTO = fixture("concert.jpg");

export const UPLOADS = "darkroom-uploads";
export const UPLOADS_DLQ = "darkroom-uploads-dlq";

type AssetRow = {
  id: string;
  user_id: string;
  batch_id: string;
  size: number;
  status: string;
  version: number;
  expires_at: number | null;
  claimed_at: number | null;
  retry_at: number | null;
  error: string | null;
};

export { recordingQueue } from "../../../test/workerd/queue-helpers";
export { seedUser } from "../../../test/workerd/seed";

export async function seedAsset(
  owner: { uid: string; batchId: string },
  opts: { size?: number; status?: string; version?: number } = {},
): Promise<{ assetId: string; size: number }> {
  const assetId = crypto.randomUUID();
  const size = opts.size ?? PHOTO.byteLength;
  const status = opts.status ?? "pending";
  const now = Date.now();
  await (await dbOf(owner.uid))
    .prepare(
      `INSERT INTO assets (id, user_id, batch_id, name, size, type, sha256, status, version,
       expires_at, created_at, updated_at)
     VALUES (?, ?, ?, 'photo.jpg', ?, 'image/jpeg', ?, ?, ?, ?, ?, ?)`,
    )
    .bind(
      assetId,
      owner.uid,
      owner.batchId,
      size,
      assetId.replaceAll("-", "").padEnd(64, "0"),
      status,
      opts.version ?? 1,
      status === "pending" ? now + 3_600_000 : null,
      now,
      now,
    )
    .run();
  return { assetId, size };
}

export async function assetRow(assetId: string): Promise<AssetRow | null> {
  return everyShard
    .prepare(
      "SELECT id, user_id, batch_id, size, status, version, expires_at, claimed_at, retry_at, error FROM assets WHERE id = ?",
    )
    .bind(assetId)
    .first<AssetRow>();
}

/**
 * Stores an original under its key, as a finished upload would: the real photo
 * `PHOTO` when `size` is its size (the default of seedAsset), else `size` zero bytes.
 */
export async function putOriginal(uid: string, assetId: string, size: number): Promise<string> {
  const key = originalKey(uid, assetId);
  await env.BUCKET.put(key, size === PHOTO.byteLength ? PHOTO : new Uint8Array(size));
  return key;
}

/** The body R2 sends for an object-create (or other) event on `key`. */
export function notification(
  key: string,
  opts: { size?: number; action?: R2Notification["action"] } = {},
): R2Notification {
  return {
    account: "local",
    action: opts.action ?? "PutObject",
    bucket: "darkroom-originals",
    object: opts.size === undefined ? { key } : { key, size: opts.size, eTag: "etag" },
    eventTime: new Date().toISOString(),
  };
}

/** Events the stage published to the user's hub (the real UserHub of the api). */
export function hubEvents(uid: string): Promise<AssetFrame[]> {
  return hubEventsOf(env.USER_HUB, uid);
}

export type { Delivery };

/** Runs this worker's queue handler on one delivered batch (see deliverBatch). */
export function deliver(
  queue: string,
  messages: Delivery[],
  withEnv: Env = env,
): Promise<QueueResult> {
  return deliverBatch((batch, e: Env) => worker.queue(batch, e), queue, messages, withEnv);
}

/** Wraps D1 so every statement bound with `poisoned` fails, as during a D1 outage. */
export function failingD1(db: D1Database, poisoned: string): D1Database {
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop === "prepare") {
        return (query: string) => {
          const stmt = target.prepare(query);
          const bind = stmt.bind.bind(stmt);
          stmt.bind = (...values: unknown[]) => {
            if (values.includes(poisoned)) throw new Error("D1_ERROR: simulated outage");
            return bind(...values);
          };
          return stmt;
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
