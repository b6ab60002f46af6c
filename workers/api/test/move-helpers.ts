import { USER_TABLES, upsertSearchDoc } from "@darkroom/shared";
import { placeTestUser, uidOnShard } from "../../../test/workerd/shards";

// What the tests of a user's move between shards start from (move-user*.test.ts).

export const DESCRIPTOR = new Float32Array(128).fill(0.5);

/** A user on shard 0 with a little of everything a library holds; returns the ids. */
export async function library(): Promise<{ uid: string; ids: string[]; batchId: string }> {
  const uid = uidOnShard(0);
  const db = await placeTestUser(uid);
  const batchId = crypto.randomUUID();
  const ids = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
  const asset = (id: string, status: string, extra: string) =>
    db
      .prepare(
        `INSERT INTO assets (id, user_id, batch_id, name, size, type, sha256, status, created_at, updated_at,
           claimed_at, claim_token, error, uploaded_at, processed_at, ready_at, status_at)
         VALUES (?, ?, ?, ?, 1, 'image/jpeg', ?, ?, 1000, 1000, ${extra})`,
      )
      .bind(
        id,
        uid,
        batchId,
        `lighthouse-${status}.jpg`,
        id.replaceAll("-", "").padEnd(64, "0"),
        status,
      );
  await db.batch([
    db
      .prepare("INSERT INTO batches (id, user_id, created_at) VALUES (?, ?, 1000)")
      .bind(batchId, uid),
    asset(ids[0] ?? "", "ready", "NULL, NULL, NULL, 2000, 3000, 4000, 4000"),
    asset(ids[1] ?? "", "processing", "9000, 'tok', NULL, 2000, NULL, NULL, 2000"),
    asset(
      ids[2] ?? "",
      "failed",
      `NULL, NULL, '{"stage":"processing","code":"decode_failed","message":"x"}', 2000, NULL, NULL, 2000`,
    ),
    ...ids.map((id) =>
      db
        .prepare(
          "INSERT INTO batch_items (batch_id, asset_id, user_id, created_at) VALUES (?, ?, ?, 1000)",
        )
        .bind(batchId, id, uid),
    ),
    db
      .prepare(
        "INSERT INTO asset_features (asset_id, user_id, phash, descriptor, descriptor_version, created_at) VALUES (?, ?, 'ffffffffffffffff', ?, 1, 1000)",
      )
      .bind(ids[0], uid, new Uint8Array(DESCRIPTOR.buffer)),
    db
      .prepare(
        "INSERT INTO asset_vectors (kind, asset_id, user_id, vector) VALUES ('descriptor', ?, ?, ?)",
      )
      .bind(ids[0], uid, new Uint8Array(DESCRIPTOR.buffer)),
    upsertSearchDoc(db, {
      assetId: ids[0] ?? "",
      uid,
      name: "lighthouse-ready.jpg",
      exif: "",
      labels: ["lighthouse"],
      caption: "",
    }),
  ]);
  return { uid, ids, batchId };
}

export async function rowsOf(db: D1Database, uid: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of USER_TABLES) {
    const r = await db
      .prepare(`SELECT COUNT(*) AS n FROM ${t.name} WHERE user_id = ?`)
      .bind(uid)
      .first<{ n: number }>();
    out[t.name] = r?.n ?? 0;
  }
  return out;
}
