import { opsWindows } from "@darkroom/shared";
import { z } from "zod";
import { rollupKey } from "./shard-metrics";

/**
 * Upkeep of the counters and rollups of one database (one shard), run by every sweep
 * (DESIGN.md, "Counters and rollups"). The triggers of migration 0007 keep them exact
 * with every write; the recount is the safety net for what no trigger sees (a row edited
 * by hand, a restore, a bug), and the pruning bounds the rollups to the longest window.
 */

/** Users whose counters one sweep recounts: the cursor walks every user in turn. */
export const RECOUNT_USERS_PER_SWEEP = 100;

const idRow = z.object({ id: z.string() });
const counterRow = z.object({ user_id: z.string(), status: z.string(), n: z.number() });

/**
 * The next `limit` user ids after `after` that have assets or counters, in id order: a
 * skip scan (one index seek per user through `assets_user_status` and the counters' key),
 * so it reads users, not their assets.
 */
const NEXT_USERS = `WITH RECURSIVE u(id, k) AS (
  SELECT ?1, 0
  UNION ALL
  SELECT (SELECT min(coalesce(a, c), coalesce(c, a)) FROM (
      SELECT (SELECT MIN(user_id) FROM assets WHERE user_id > u.id) AS a,
             (SELECT MIN(user_id) FROM user_status_counts WHERE user_id > u.id) AS c)),
    k + 1
  FROM u WHERE u.id IS NOT NULL AND k < ?2
)
SELECT id FROM u WHERE k > 0 AND id IS NOT NULL`;

/** Counters without zeros, as a comparable text per user. */
function byUser(rows: readonly z.infer<typeof counterRow>[]): Map<string, string> {
  const out = new Map<string, string[]>();
  for (const r of rows) {
    if (r.n === 0) continue;
    const list = out.get(r.user_id) ?? [];
    list.push(`${r.status}=${r.n}`);
    out.set(r.user_id, list);
  }
  return new Map([...out].map(([uid, list]) => [uid, list.sort().join(",")]));
}

/**
 * Recounts the counters of the next `limit` users from `assets`, in one D1 batch (a
 * transaction: no write of those users lands between the count and the rewrite), and
 * moves the cursor on; past the last user it starts over. Returns the users recounted and
 * how many of them had drifted.
 */
export async function recountUserCounters(
  db: D1Database,
  limit = RECOUNT_USERS_PER_SWEEP,
): Promise<{ users: number; corrected: number }> {
  const cursor = await db.prepare("SELECT after FROM counter_recount WHERE id = 0").first();
  const after = z.object({ after: z.string() }).parse(cursor ?? { after: "" }).after;
  const { results } = await db.prepare(NEXT_USERS).bind(after, limit).all();
  const ids = results.map((r) => idRow.parse(r).id);
  const last = ids.at(-1);
  // Fewer than asked: the walk reached the end; the range runs to the end and wraps.
  const wraps = ids.length < limit || last === undefined;
  const range = wraps ? "user_id > ?1" : "user_id > ?1 AND user_id <= ?2";
  const bind = (sqlText: string) =>
    wraps ? db.prepare(sqlText).bind(after) : db.prepare(sqlText).bind(after, last);
  const read = `SELECT user_id, status, n FROM user_status_counts WHERE ${range}`;
  const [before, , , , recounted] = await db.batch([
    bind(read),
    bind(`DELETE FROM user_status_counts WHERE ${range}`),
    bind(
      `INSERT INTO user_status_counts (user_id, status, n)
       SELECT user_id, status, COUNT(*) FROM assets WHERE ${range} GROUP BY user_id, status`,
    ),
    db.prepare("UPDATE counter_recount SET after = ? WHERE id = 0").bind(wraps ? "" : last),
    bind(read),
  ]);
  const was = byUser((before?.results ?? []).map((r) => counterRow.parse(r)));
  const is = byUser((recounted?.results ?? []).map((r) => counterRow.parse(r)));
  let corrected = 0;
  for (const uid of new Set([...was.keys(), ...is.keys()])) {
    if (was.get(uid) !== is.get(uid)) corrected += 1;
  }
  return { users: ids.length, corrected };
}

/** Drops rollup minutes older than the longest metrics window (and a minute of margin). */
export async function pruneRollups(db: D1Database, now: number): Promise<void> {
  const oldest = rollupKey(now - Math.max(...Object.values(opsWindows))) - 1;
  await db.batch([
    db.prepare("DELETE FROM ops_counts WHERE minute < ?").bind(oldest),
    db.prepare("DELETE FROM ops_failures WHERE minute < ?").bind(oldest),
    db.prepare("DELETE FROM ops_latency WHERE minute < ?").bind(oldest),
  ]);
}
