import { type BucketName, type BucketPolicy, bucketNames } from "../lib/limits/limits";
import type { RateLimitResult } from "../lib/limits/rate-limit-headers";
import { TokenBucket } from "../lib/limits/token-bucket";

/**
 * A user's token buckets, one per kind of work (lib/limits/limits.ts), kept in the hub's SQLite
 * so they survive eviction. Every take is one synchronous statement: no request sees a
 * half-applied update.
 */
export class HubBuckets {
  private readonly buckets = new Map<BucketName, TokenBucket>();

  constructor(
    private readonly sql: SqlStorage,
    private readonly policies: Record<BucketName, BucketPolicy>,
    now = Date.now(),
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS buckets (
      name TEXT PRIMARY KEY, tokens REAL NOT NULL, refilled_at INTEGER NOT NULL)`);
    // Before there were several buckets there was one, for uploads: it is "work" now.
    sql.exec(`CREATE TABLE IF NOT EXISTS bucket (
      id INTEGER PRIMARY KEY CHECK (id = 1), tokens REAL NOT NULL, refilled_at INTEGER NOT NULL)`);
    sql.exec(
      "INSERT OR IGNORE INTO buckets (name, tokens, refilled_at) SELECT 'work', tokens, refilled_at FROM bucket",
    );
    sql.exec("DROP TABLE bucket");
    const rows = sql
      .exec<{ name: string; tokens: number; refilled_at: number }>(
        "SELECT name, tokens, refilled_at FROM buckets",
      )
      .toArray();
    for (const name of bucketNames) {
      const { capacity, refillPerMinute } = policies[name];
      const row = rows.find((r) => r.name === name);
      this.buckets.set(
        name,
        new TokenBucket(
          capacity,
          refillPerMinute,
          Math.min(capacity, row?.tokens ?? capacity),
          row?.refilled_at ?? now,
        ),
      );
    }
  }

  /**
   * Takes `cost` tokens of `name` when they are all there (all or nothing). A cost of 0
   * only reports the bucket, so an answer that costs nothing still carries the headers.
   */
  take(name: BucketName, cost: number, now = Date.now()): RateLimitResult {
    const bucket = this.buckets.get(name);
    if (!bucket) throw new Error(`no bucket ${name}`);
    const result = bucket.take(cost, now);
    this.sql.exec(
      "INSERT INTO buckets (name, tokens, refilled_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET tokens = excluded.tokens, refilled_at = excluded.refilled_at",
      name,
      bucket.tokens,
      bucket.refilledAt,
    );
    const { capacity, refillPerMinute } = this.policies[name];
    return {
      ...result,
      policy: name,
      // The draft's window for a token bucket: how long an empty bucket takes to fill.
      windowSeconds: Math.ceil((capacity * 60) / refillPerMinute),
    };
  }
}
