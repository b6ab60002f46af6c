// Rows every workerd suite starts from (the processor's, the embedder's, the lifecycle's).
import { env } from "cloudflare:workers";

/** A user with one batch; every test makes its own, so hubs and rows never collide. */
export async function seedUser(): Promise<{ uid: string; batchId: string }> {
  const uid = crypto.randomUUID();
  const batchId = crypto.randomUUID();
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare("INSERT INTO users (id, sub, created_at) VALUES (?, ?, ?)").bind(
      uid,
      `sub-${uid}`,
      now,
    ),
    env.DB.prepare("INSERT INTO batches (id, user_id, created_at) VALUES (?, ?, ?)").bind(
      batchId,
      uid,
      now,
    ),
  ]);
  return { uid, batchId };
}
