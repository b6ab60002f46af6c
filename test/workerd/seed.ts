// Rows every workerd suite starts from (the processor's, the embedder's, the lifecycle's).
import { placeTestUser } from "./shards";

/** A user with one batch; every test makes its own, so hubs and rows never collide. */
export async function seedUser(): Promise<{ uid: string; batchId: string }> {
  const uid = crypto.randomUUID();
  const batchId = crypto.randomUUID();
  const db = await placeTestUser(uid);
  await db
    .prepare("INSERT INTO batches (id, user_id, created_at) VALUES (?, ?, ?)")
    .bind(batchId, uid, Date.now())
    .run();
  return { uid, batchId };
}
