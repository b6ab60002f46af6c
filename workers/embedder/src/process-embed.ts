import {
  embedMessageSchema,
  failure,
  hubPublisher,
  publishSafely,
  transition,
} from "@darkroom/shared";
import { assets } from "@darkroom/shared/db";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";

function hub(env: Env, uid: string) {
  return hubPublisher(env.USER_HUB, uid);
}

export class NotBuiltYet extends Error {}

/**
 * One `embed` message. The searchable stage (descriptor, pHash, AI, vector index) is
 * the embedder issue's work; until it lands a `processed` asset is retried, and after
 * the retries the dead-letter handler marks it failed with a reason, so nothing is
 * silently acked.
 */
export async function processMessage(env: Env, body: unknown): Promise<string> {
  const parsed = embedMessageSchema.safeParse(body);
  if (!parsed.success) {
    console.error("embed: malformed message dropped", JSON.stringify(parsed.error.issues));
    return "malformed";
  }
  const [row] = await drizzle(env.DB)
    .select()
    .from(assets)
    .where(eq(assets.id, parsed.data.assetId));
  if (!row || row.userId !== parsed.data.uid) return "gone";
  if (row.status !== "processed") return "not-processed";
  throw new NotBuiltYet("the embedding stage is not built yet");
}

/** An embed message that exhausted its retries: the asset fails at stage `embedding`. */
export async function processDeadLetter(env: Env, body: unknown): Promise<string> {
  const parsed = embedMessageSchema.safeParse(body);
  if (!parsed.success) {
    console.error("embed-dlq: malformed message dropped", JSON.stringify(body));
    return "malformed";
  }
  const db = drizzle(env.DB);
  const [row] = await db.select().from(assets).where(eq(assets.id, parsed.data.assetId));
  if (!row || row.userId !== parsed.data.uid) return "gone";
  const t = await transition(db, row.id, ["processed", "embedding"], "failed", {
    claimedAt: null,
    error: failure(
      "embedding",
      "retries_exhausted",
      "Making this photo searchable kept failing; retry it to try again",
    ),
  });
  if (!t) return "already-settled";
  await publishSafely(hub(env, row.userId), [
    { assetId: t.id, batchId: t.batchId, status: t.status, version: t.version, error: t.error },
  ]);
  return "failed";
}
