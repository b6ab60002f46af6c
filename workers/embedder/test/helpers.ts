import type { QueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { type AssetFrame, type EmbedMessage, variantKey } from "@darkroom/shared";
import { z } from "zod";
import { type Delivery, deliverBatch, hubEventsOf } from "../../../test/workerd/queue-helpers";
import { dbOf, everyShard } from "../../../test/workerd/shards";
import worker from "../src/index";
import { type AiCall, type AiTestDoubleEntrypoint, aiBinding } from "./ai-test-double-entrypoint";
import { type FixtureName, fixtureBytes } from "./fixtures";

export const EMBED = "darkroom-embed";
export const EMBED_DLQ = "darkroom-embed-dlq";

type AssetRow = {
  id: string;
  user_id: string;
  batch_id: string;
  size: number;
  status: string;
  version: number;
  expires_at: number | null;
  claimed_at: number | null;
  claim_token: string | null;
  retry_at: number | null;
  attempts: number;
  error: string | null;
  labels: string | null;
  caption: string | null;
  caption_skipped: string | null;
  redescribe_at: number | null;
  near_duplicate_of: string | null;
};

export { recordingQueue } from "../../../test/workerd/queue-helpers";
export { seedUser } from "../../../test/workerd/seed";

export type SeedOptions = {
  size?: number;
  status?: string;
  version?: number;
  name?: string;
  claimedAt?: number | null;
  camera?: { make: string; model: string };
  takenAt?: number;
  createdAt?: number;
};

export async function seedAsset(
  owner: { uid: string; batchId: string },
  opts: SeedOptions = {},
): Promise<{ assetId: string; size: number }> {
  const assetId = crypto.randomUUID();
  const size = opts.size ?? 64;
  const status = opts.status ?? "pending";
  const now = opts.createdAt ?? Date.now();
  await (await dbOf(owner.uid))
    .prepare(
      `INSERT INTO assets (id, user_id, batch_id, name, size, type, sha256, status, version,
       expires_at, claimed_at, claim_token, camera_make, camera_model, taken_at, created_at,
       updated_at)
     VALUES (?, ?, ?, ?, ?, 'image/jpeg', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(
      assetId,
      owner.uid,
      owner.batchId,
      opts.name ?? "photo.jpg",
      size,
      assetId.replaceAll("-", "").padEnd(64, "0"),
      status,
      opts.version ?? 1,
      status === "pending" ? now + 3_600_000 : null,
      opts.claimedAt ?? null,
      // A seeded claim has its own token, as every claim does.
      opts.claimedAt == null ? null : crypto.randomUUID(),
      opts.camera?.make ?? null,
      opts.camera?.model ?? null,
      opts.takenAt ?? null,
      now,
      now,
    )
    .run();
  return { assetId, size };
}

export async function assetRow(assetId: string): Promise<AssetRow | null> {
  return everyShard
    .prepare(
      `SELECT id, user_id, batch_id, size, status, version, expires_at, claimed_at, claim_token, retry_at, attempts,
       error, labels, caption, caption_skipped, redescribe_at, near_duplicate_of
     FROM assets WHERE id = ?`,
    )
    .bind(assetId)
    .first<AssetRow>();
}

/** A processed asset whose thumb (a fixture) is in R2, as the processor leaves it. */
export async function processedAsset(
  owner: { uid: string; batchId: string },
  fixture: FixtureName,
  opts: SeedOptions = {},
): Promise<string> {
  const { assetId } = await seedAsset(owner, { status: "processed", version: 4, ...opts });
  await env.BUCKET.put(variantKey(owner.uid, assetId, "thumb"), fixtureBytes(fixture));
  return assetId;
}

/** What the embedder wrote for an asset, outside the assets row. */
export async function searchData(assetId: string) {
  const count = async (sql: string) =>
    (await everyShard.sum(sql).bind(assetId).first<{ n: number }>())?.n ?? 0;
  return {
    features: await count("SELECT COUNT(*) AS n FROM asset_features WHERE asset_id = ?"),
    docs: await count("SELECT COUNT(*) AS n FROM search_docs WHERE asset_id = ?"),
    descriptorVectors: await count(
      "SELECT COUNT(*) AS n FROM asset_vectors WHERE kind = 'descriptor' AND asset_id = ?",
    ),
    textVectors: await count(
      "SELECT COUNT(*) AS n FROM asset_vectors WHERE kind = 'text' AND asset_id = ?",
    ),
  };
}

export function labelsOf(row: { labels: string | null } | null): string[] {
  return z.array(z.string()).parse(JSON.parse(row?.labels ?? "[]"));
}

/** The processor's message to the embedder for this asset. */
export function embedMessage(uid: string, assetId: string): EmbedMessage {
  return { assetId, uid };
}

/** Events the stage published to the user's hub (the real UserHub of the api). */
export function hubEvents(uid: string): Promise<AssetFrame[]> {
  return hubEventsOf(env.USER_HUB, uid);
}

export type { Delivery };

/**
 * The AI_BREAKER binding with a breaker of its own: the deployment has one breaker
 * (`idFromName("workers-ai")`), and tests that open it must not pause the others'.
 */
export function isolatedBreaker(
  ns: DurableObjectNamespace = env.AI_BREAKER,
): DurableObjectNamespace {
  const tag = crypto.randomUUID();
  const isolated: Pick<DurableObjectNamespace, "idFromName" | "get"> = {
    idFromName: (name) => ns.idFromName(`${tag}:${name}`),
    get: (id) => ns.get(id),
  };
  // Only idFromName and get are ever called (aiBreaker in packages/shared).
  return isolated as DurableObjectNamespace;
}

/** An env whose AI is the test double of one behaviour, recording its calls. */
export function withAi(
  service: Service<AiTestDoubleEntrypoint>,
  breaker = isolatedBreaker(),
): { env: Env; calls: AiCall[] } {
  const calls: AiCall[] = [];
  return { env: { ...env, AI: aiBinding(service, calls), AI_BREAKER: breaker }, calls };
}

/** Runs this worker's queue handler on one delivered batch (see deliverBatch). */
export function deliver(
  queue: string,
  messages: Delivery[],
  withEnv: Env = env,
): Promise<QueueResult> {
  return deliverBatch((batch, e: Env) => worker.queue(batch, e), queue, messages, withEnv);
}

/** The env with R2 reads running `hook` first: a race injected mid-run. */
export function withHookOnRead(hook: () => Promise<unknown>): Env {
  const bucket = new Proxy(env.BUCKET, {
    get(target, prop, receiver) {
      if (prop === "get") {
        return async (key: string) => {
          const object = await target.get(key);
          await hook();
          return object;
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { ...env, BUCKET: bucket };
}
