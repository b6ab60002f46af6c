import { env } from "cloudflare:workers";
import type { StatusCounts } from "@darkroom/shared";
import { beforeEach, describe, expect, it } from "vitest";
import { dbOf, everyShard, placeTestUser, withShards } from "../../../test/workerd/shards";
import { statusCounts } from "../src/lib/answers/stats";
import { pruneRollups, recountUserCounters } from "../src/ops/counters";
import { sweep } from "../src/sweeper";
import { makeEnv, userName } from "./helpers";
import { rowsReadMeter } from "./rows-read";

async function newUser(): Promise<string> {
  const uid = crypto.randomUUID();
  await placeTestUser(uid, userName("counters"));
  return uid;
}

/** The test env with every shard's rows read counted (the directory's lookups are not). */
function meteredShards(): { env: Env; rowsRead: () => number } {
  const meters: ReturnType<typeof rowsReadMeter>[] = [];
  const metered = withShards(env, (db) => {
    const m = rowsReadMeter(db);
    meters.push(m);
    return m.db;
  });
  return { env: metered, rowsRead: () => meters.reduce((n, m) => n + m.rowsRead(), 0) };
}

/** `n` assets of the user in `status`, in statements of 10 rows. */
async function addAssets(uid: string, n: number, status = "ready"): Promise<string[]> {
  const ids = Array.from({ length: n }, () => crypto.randomUUID());
  const db = await dbOf(uid);
  const statements = [];
  for (let i = 0; i < ids.length; i += 10) {
    const part = ids.slice(i, i + 10);
    statements.push(
      db
        .prepare(
          `INSERT INTO assets (id, user_id, batch_id, name, size, type, sha256, status, created_at, updated_at)
         VALUES ${part.map(() => "(?, ?, 'b', 'p.jpg', 1, 'image/jpeg', ?, ?, 0, 0)").join(", ")}`,
        )
        .bind(...part.flatMap((id) => [id, uid, id.replaceAll("-", "").padEnd(64, "0"), status])),
    );
  }
  await db.batch(statements);
  return ids;
}

/** What the counters stand for: the GROUP BY over the user's library. */
async function scanned(uid: string): Promise<StatusCounts> {
  const { results } = await (await dbOf(uid))
    .prepare(
      "SELECT status, COUNT(*) AS n FROM assets WHERE user_id = ? AND status != 'deleting' GROUP BY status",
    )
    .bind(uid)
    .all<{ status: keyof StatusCounts; n: number }>();
  const stats: StatusCounts = {
    total: 0,
    pending: 0,
    uploaded: 0,
    processing: 0,
    processed: 0,
    embedding: 0,
    ready: 0,
    failed: 0,
  };
  for (const r of results) {
    stats[r.status] += r.n;
    stats.total += r.n;
  }
  return stats;
}

beforeEach(async () => {
  await everyShard.prepare("UPDATE counter_recount SET after = '' WHERE id = 0").run();
});

describe("status counters", () => {
  it("follow every insert, transition and delete of a user's assets", async () => {
    const uid = await newUser();
    const [a, b, c] = await addAssets(uid, 3, "pending");
    await addAssets(uid, 2, "ready");
    const step = (sqlText: string, ...params: unknown[]) =>
      everyShard
        .prepare(sqlText)
        .bind(...params)
        .run();
    await step("UPDATE assets SET status = 'uploaded' WHERE id = ?", a);
    await step("UPDATE assets SET status = 'failed', error = '{}' WHERE id = ?", b);
    await step("UPDATE assets SET status = 'deleting' WHERE id = ?", c);
    // A write that changes no status leaves the counts alone.
    await step("UPDATE assets SET name = 'renamed.jpg' WHERE id = ?", a);
    expect(await statusCounts(env, uid)).toEqual({
      ...(await scanned(uid)),
      total: 4,
      uploaded: 1,
      failed: 1,
      ready: 2,
    });
    await step("DELETE FROM assets WHERE id = ?", c);
    await step("DELETE FROM assets WHERE id = ?", b);
    expect(await statusCounts(env, uid)).toEqual(await scanned(uid));
    expect((await statusCounts(env, uid)).total).toBe(3);
  });

  it("answer the same number of rows read for 10 and for 1,000 assets", async () => {
    const uid = await newUser();
    await addAssets(uid, 10);
    const small = meteredShards();
    expect((await statusCounts(small.env, uid)).ready).toBe(10);
    await addAssets(uid, 990);
    const large = meteredShards();
    expect((await statusCounts(large.env, uid)).ready).toBe(1000);
    expect(large.rowsRead()).toBe(small.rowsRead());
    expect(small.rowsRead()).toBeGreaterThan(0);

    // The meter does see a scan grow: the GROUP BY the counters replace.
    const scan = async () => {
      const m = rowsReadMeter(await dbOf(uid));
      await m.db
        .prepare("SELECT status, COUNT(*) FROM assets WHERE user_id = ? GROUP BY status")
        .bind(uid)
        .all();
      return m.rowsRead();
    };
    expect(await scan()).toBeGreaterThanOrEqual(1000);
  });
});

describe("the counters' recount", () => {
  it("puts a corrupted and a lost counter right, and leaves right ones alone", async () => {
    const [corrupt, lost, fine] = [await newUser(), await newUser(), await newUser()];
    await addAssets(corrupt, 4);
    await addAssets(lost, 3, "failed");
    await addAssets(fine, 2);
    await everyShard.batch([
      everyShard
        .prepare("UPDATE user_status_counts SET n = 999 WHERE user_id = ? AND status = 'ready'")
        .bind(corrupt),
      everyShard.prepare("DELETE FROM user_status_counts WHERE user_id = ?").bind(lost),
    ]);
    expect((await statusCounts(env, corrupt)).ready).toBe(999);
    expect((await statusCounts(env, lost)).total).toBe(0);

    let corrected = 0;
    let users = 0;
    // Every user of the database in turns of 50, until a turn comes back short (the wrap).
    let turn: { users: number; corrected: number };
    for (const db of [env.DB_0, env.DB_1]) {
      do {
        turn = await recountUserCounters(db, 50);
        corrected += turn.corrected;
        users += turn.users;
      } while (turn.users === 50);
    }
    expect(corrected).toBe(2);
    expect(users).toBeGreaterThanOrEqual(3);
    for (const uid of [corrupt, lost, fine]) {
      expect(await statusCounts(env, uid)).toEqual(await scanned(uid));
    }
  });

  it("walks the users in turns of its limit and starts over after the last", async () => {
    const uid = await newUser();
    await addAssets(uid, 1);
    // One database's walk: the new user's shard. Users with assets or counters there (a
    // user whose assets are all gone keeps zeros).
    const db = await dbOf(uid);
    const everyone = await db
      .prepare(
        "SELECT COUNT(*) AS n FROM (SELECT user_id FROM assets UNION SELECT user_id FROM user_status_counts)",
      )
      .first<{ n: number }>();
    const total = everyone?.n ?? 0;
    const first = await recountUserCounters(db, 1);
    expect(first.users).toBe(1);
    let seen = first.users;
    let turns = 1;
    while (turns < total + 2) {
      const r = await recountUserCounters(db, 1);
      turns += 1;
      seen += r.users;
      if (r.users === 0) break;
    }
    // Each user once, then an empty turn that wraps the cursor to the start.
    expect(seen).toBe(total);
    expect((await recountUserCounters(db, 1)).users).toBe(1);
  });

  it("runs in every sweep, which reports the users it corrected", async () => {
    const uid = await newUser();
    await addAssets(uid, 5);
    await everyShard
      .prepare("UPDATE user_status_counts SET n = 0 WHERE user_id = ? AND status = 'ready'")
      .bind(uid)
      .run();
    let corrected = 0;
    // A sweep recounts RECOUNT_USERS_PER_SWEEP users; this file's users fit in a few.
    for (let i = 0; i < 5 && (await statusCounts(env, uid)).ready !== 5; i++) {
      corrected += (await sweep(makeEnv().env)).countersCorrected;
    }
    expect(await statusCounts(env, uid)).toEqual(await scanned(uid));
    expect(corrected).toBeGreaterThanOrEqual(1);
  });
});

describe("the ops rollups' pruning", () => {
  it("drops minutes older than the longest window and keeps the rest", async () => {
    const now = Date.UTC(2101, 0, 1);
    const minute = now / 60_000;
    const day = 24 * 60;
    const db = env.DB_0;
    await db.batch([
      db
        .prepare(
          "INSERT INTO ops_counts (minute, series, n) VALUES (?, 'ready', 1), (?, 'ready', 1)",
        )
        .bind(minute - day - 5, minute - 10),
      db
        .prepare(
          "INSERT INTO ops_latency (minute, series, lo, n, sum_ms) VALUES (?, 'processed_to_ready', 8, 1, 8), (?, 'processed_to_ready', 8, 1, 8)",
        )
        .bind(minute - day - 5, minute - 10),
      db
        .prepare(
          "INSERT INTO ops_failures (minute, stage, code, n) VALUES (?, 'processing', 'x', 1), (?, 'processing', 'x', 1)",
        )
        .bind(minute - day - 5, minute - 10),
    ]);
    await pruneRollups(db, now);
    for (const table of ["ops_counts", "ops_latency", "ops_failures"]) {
      const left = await db
        .prepare(`SELECT minute FROM ${table} WHERE minute BETWEEN ? AND ?`)
        .bind(minute - 2 * day, minute)
        .all<{ minute: number }>();
      expect(left.results.map((r) => r.minute)).toEqual([minute - 10]);
    }
  });
});
