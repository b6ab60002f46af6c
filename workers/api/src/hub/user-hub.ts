import { DurableObject } from "cloudflare:workers";
import { type AssetEventInput, type AssetFrame, assetEventInputSchema } from "@darkroom/shared";
import { z } from "zod";
import { RATE_LIMIT_DEFAULTS, type RateLimitResult, TokenBucket } from "../lib/token-bucket";

export type { RateLimitResult };

export type PublishResult = { ok: true; seq: number } | { ok: false; error: string };

/** How many events the hub keeps for `resume` (the progress issue needs at least 5,000). */
export const EVENTS_KEPT = 10_000;
// Trimming is amortised: the table may hold up to EVENTS_KEPT + TRIM_EVERY rows.
const TRIM_EVERY = 500;

/**
 * One per user (`idFromName(uid)`): the token bucket that paces new uploads and the
 * ordered event log that progress clients read. SQLite-backed; all state is loaded in
 * `blockConcurrencyWhile`, and every write is a synchronous SQL statement, so a request
 * never sees a half-applied update.
 */
export class UserHub extends DurableObject<Env> {
  private seq = 0;
  private bucket!: TokenBucket;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const capacity = Number(env.RATE_LIMIT_CAPACITY) || RATE_LIMIT_DEFAULTS.capacity;
    const refill = Number(env.RATE_LIMIT_REFILL_PER_MINUTE) || RATE_LIMIT_DEFAULTS.refillPerMinute;
    ctx.blockConcurrencyWhile(async () => {
      const sql = ctx.storage.sql;
      sql.exec(`CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY,
        frame TEXT NOT NULL,
        at INTEGER NOT NULL
      )`);
      sql.exec(`CREATE TABLE IF NOT EXISTS bucket (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        tokens REAL NOT NULL,
        refilled_at INTEGER NOT NULL
      )`);
      const last = sql.exec<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM events").one();
      this.seq = last.seq ?? 0;
      const bucket = sql.exec<{ tokens: number; refilled_at: number }>(
        "SELECT tokens, refilled_at FROM bucket WHERE id = 1",
      );
      const row = bucket.toArray()[0];
      this.bucket = new TokenBucket(
        capacity,
        refill,
        row?.tokens ?? capacity,
        row?.refilled_at ?? Date.now(),
      );
    });
  }

  /**
   * Takes `cost` tokens when they are all there (all or nothing). A cost of 0 only
   * reports the bucket, so every answer of the upload route can carry RateLimit headers.
   */
  take(cost: number): RateLimitResult {
    const result = this.bucket.take(cost, Date.now());
    this.ctx.storage.sql.exec(
      "INSERT INTO bucket (id, tokens, refilled_at) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET tokens = excluded.tokens, refilled_at = excluded.refilled_at",
      this.bucket.tokens,
      this.bucket.refilledAt,
    );
    return result;
  }

  /**
   * Records asset transitions, each with the next `seq`, and sends them to connected
   * sockets. Callers are other workers: the events are validated like any other trust
   * boundary, and a malformed one is refused (nothing of that call stored) with a reason
   * rather than an exception, so a publisher's bug never fails its stage's work.
   */
  publish(inputs: AssetEventInput | AssetEventInput[]): PublishResult {
    const parsed = z
      .array(assetEventInputSchema)
      .safeParse(Array.isArray(inputs) ? inputs : [inputs]);
    if (!parsed.success) return { ok: false, error: z.prettifyError(parsed.error) };
    const sockets = this.ctx.getWebSockets();
    for (const event of parsed.data) {
      this.seq += 1;
      const frame: AssetFrame = { type: "asset", seq: this.seq, ...event };
      const text = JSON.stringify(frame);
      this.ctx.storage.sql.exec(
        "INSERT INTO events (seq, frame, at) VALUES (?, ?, ?)",
        this.seq,
        text,
        Date.now(),
      );
      if (this.seq % TRIM_EVERY === 0) {
        this.ctx.storage.sql.exec("DELETE FROM events WHERE seq <= ?", this.seq - EVENTS_KEPT);
      }
      for (const ws of sockets) {
        try {
          ws.send(text);
        } catch {
          // a closing socket: its client resumes from its last seq
        }
      }
    }
    return { ok: true, seq: this.seq };
  }

  /** Events after `since`, oldest first; `gap` when some of them are no longer kept. */
  eventsSince(since: number, limit = 1000): { events: AssetFrame[]; gap: boolean; seq: number } {
    const oldest = this.ctx.storage.sql
      .exec<{ seq: number | null }>("SELECT MIN(seq) AS seq FROM events")
      .one().seq;
    const gap = oldest !== null && since + 1 < oldest;
    const rows = this.ctx.storage.sql
      .exec<{ frame: string }>(
        "SELECT frame FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
        since,
        limit,
      )
      .toArray();
    return { events: rows.map((r) => JSON.parse(r.frame) as AssetFrame), gap, seq: this.seq };
  }
}
