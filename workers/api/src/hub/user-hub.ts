import { DurableObject } from "cloudflare:workers";
import {
  type AssetEventInput,
  type AssetFrame,
  assetEventInputSchema,
  clientFrameSchema,
  MoveError,
  type MoveResult,
  moveUser,
  reconnectReason,
  type ServerFrame,
  type StatusCounts,
} from "@darkroom/shared";
import { z } from "zod";
import { statusCounts } from "../lib/answers/stats";
import { type BucketName, bucketPolicies, type Limits, limits } from "../lib/limits/limits";
import type { RateLimitResult } from "../lib/limits/rate-limit-headers";
import { HubBuckets } from "./buckets";

export type PublishResult = { ok: true; seq: number } | { ok: false; error: string };

/** A move's answer across RPC (an error's class does not cross it, its fields do here). */
export type MoveAnswer =
  | { ok: true; result: MoveResult }
  | { ok: false; code: MoveError["code"]; message: string; aborted: boolean };

/** How many events the hub keeps for `resume` (at least 5,000 are needed for a 2,000-photo drop). */
export const EVENTS_KEPT = 10_000;
// Trimming is amortised: the table may hold up to EVENTS_KEPT + TRIM_EVERY rows.
const TRIM_EVERY = 500;
/** Stats frames are coalesced: at most one per socket every STATS_DEBOUNCE_MS. */
export const STATS_DEBOUNCE_MS = 400;
/** A client frame is `{"type":"resume","since":<seq>}`: anything longer is not one. */
export const MAX_CLIENT_FRAME_BYTES = 256;
/** A client refused a socket waits this long: sockets close when tabs do, not on a clock. */
export const SOCKET_RETRY_AFTER_SECONDS = 30;

/** Set by the api worker on the internal upgrade request; the hub has no public route. */
export const HUB_HEADERS = {
  uid: "X-Darkroom-Uid",
  nonce: "X-Darkroom-Ticket-Nonce",
  exp: "X-Darkroom-Ticket-Exp",
  batchId: "X-Darkroom-Batch",
} as const;

/** What each socket remembers across hibernation. */
const attachmentSchema = z.object({
  batchId: z.uuid().nullable(),
  /** The seq of the hello frame: a resume replays up to here, later events went out live. */
  helloSeq: z.number().int(),
  connectedAt: z.number().int(),
});
type Attachment = z.infer<typeof attachmentSchema>;

function attachmentOf(ws: WebSocket): Attachment | null {
  const r = attachmentSchema.safeParse(ws.deserializeAttachment());
  return r.success ? r.data : null;
}

/**
 * One per user (`idFromName(uid)`): the token buckets that pace the user's work, the ordered
 * event log, and the user's live WebSockets (Hibernation API, so idle sockets cost
 * nothing). SQLite-backed; state is loaded in `blockConcurrencyWhile` and every write is
 * a synchronous SQL statement, so no request sees a half-applied update.
 */
export class UserHub extends DurableObject<Env> {
  private seq = 0;
  private uid: string | null = null;
  private buckets!: HubBuckets;
  private readonly limits: Limits;
  /** The move of this user running in this object, if any: one at a time per user. */
  private moving: Promise<MoveAnswer> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.limits = limits(env);
    // Answered by the runtime without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
    ctx.blockConcurrencyWhile(async () => {
      const sql = ctx.storage.sql;
      sql.exec(
        `CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, frame TEXT NOT NULL, at INTEGER NOT NULL)`,
      );
      sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
      sql.exec(
        `CREATE TABLE IF NOT EXISTS spent_tickets (nonce TEXT PRIMARY KEY, exp INTEGER NOT NULL)`,
      );
      this.seq =
        sql.exec<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM events").one().seq ?? 0;
      this.uid =
        sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'uid'").toArray()[0]
          ?.value ?? null;
      this.buckets = new HubBuckets(sql, bucketPolicies(this.limits));
    });
  }

  /**
   * Takes `cost` tokens of the user's `bucket` when they are all there (all or nothing).
   * A cost of 0 only reports the bucket, so every answer can carry RateLimit headers.
   */
  take(bucket: BucketName, cost: number): RateLimitResult {
    return this.buckets.take(bucket, cost);
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
      for (const ws of sockets) send(ws, text);
    }
    if (sockets.length > 0) this.scheduleStats();
    return { ok: true, seq: this.seq };
  }

  /**
   * Moves the user to shard `target` (lifecycle/move-user.ts), one move at a time: the hub
   * is the one object per user, so a second call while one runs is refused rather than
   * copying beside it. What holds the user's writes meanwhile is the fence in the source
   * shard and the directory's move state (DESIGN.md, "Sharding: moving a user").
   */
  async moveShard(uid: string, target: number): Promise<MoveAnswer> {
    if (this.moving) {
      return {
        ok: false,
        code: "move_running",
        message: `a move of ${uid} is running; wait for it`,
        aborted: false,
      };
    }
    this.moving = moveUser(this.env, uid, target).then(
      (result): MoveAnswer => ({ ok: true, result }),
      (err: unknown): MoveAnswer => {
        if (err instanceof MoveError) {
          return { ok: false, code: err.code, message: err.message, aborted: err.aborted };
        }
        const message = err instanceof Error ? err.message : String(err);
        return { ok: false, code: "move_failed", message, aborted: false };
      },
    );
    try {
      return await this.moving;
    } finally {
      this.moving = null;
    }
  }

  /** Events after `since`, oldest first; `gap` when some of them are no longer kept. */
  eventsSince(
    since: number,
    limit = 1000,
    upTo = Number.MAX_SAFE_INTEGER,
  ): { events: AssetFrame[]; gap: boolean; seq: number } {
    const oldest = this.ctx.storage.sql
      .exec<{ seq: number | null }>("SELECT MIN(seq) AS seq FROM events")
      .one().seq;
    const gap = since < this.seq && (oldest === null || since + 1 < oldest);
    const rows = this.ctx.storage.sql
      .exec<{ frame: string }>(
        "SELECT frame FROM events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
        since,
        upTo,
        limit,
      )
      .toArray();
    return { events: rows.map((r) => JSON.parse(r.frame) as AssetFrame), gap, seq: this.seq };
  }

  /** The WebSocket upgrade, forwarded by the api worker after it checked the ticket. */
  override async fetch(request: Request): Promise<Response> {
    const uid = request.headers.get(HUB_HEADERS.uid);
    const nonce = request.headers.get(HUB_HEADERS.nonce);
    const exp = Number(request.headers.get(HUB_HEADERS.exp));
    if (
      !uid ||
      !nonce ||
      !Number.isInteger(exp) ||
      request.headers.get("Upgrade") !== "websocket"
    ) {
      return new Response(null, { status: 400 });
    }
    // Capped before the ticket is spent: a refused client may try it again in a moment.
    const open = this.ctx.getWebSockets().length;
    if (open >= this.limits.maxSockets) {
      const refusal: RateLimitResult = {
        allowed: false,
        limit: this.limits.maxSockets,
        remaining: 0,
        resetSeconds: SOCKET_RETRY_AFTER_SECONDS,
        retryAfterSeconds: SOCKET_RETRY_AFTER_SECONDS,
        policy: "sockets",
      };
      return Response.json(refusal, { status: 429 });
    }
    const sql = this.ctx.storage.sql;
    // Single use: a nonce is remembered until its ticket would have expired anyway.
    const now = Math.floor(Date.now() / 1000);
    sql.exec("DELETE FROM spent_tickets WHERE exp < ?", now);
    const spent = sql.exec(
      "INSERT INTO spent_tickets (nonce, exp) VALUES (?, ?) ON CONFLICT(nonce) DO NOTHING RETURNING nonce",
      nonce,
      exp,
    );
    if (spent.toArray().length === 0) return new Response(null, { status: 409 });
    if (this.uid !== uid) {
      this.uid = uid;
      sql.exec(
        "INSERT INTO meta (key, value) VALUES ('uid', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        uid,
      );
    }

    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server);
    const batchId = request.headers.get(HUB_HEADERS.batchId);
    const attachment: Attachment = { batchId, helloSeq: this.seq, connectedAt: Date.now() };
    server.serializeAttachment(attachment);
    const stats = await statusCounts(this.env, uid);
    // Events published while D1 answered went out live; hello's seq must not skip them.
    send(
      server,
      JSON.stringify({ type: "hello", seq: attachment.helloSeq, stats } satisfies ServerFrame),
    );
    if (batchId) {
      const batchStats = await statusCounts(this.env, uid, batchId);
      send(
        server,
        JSON.stringify({
          type: "stats",
          seq: this.seq,
          stats: batchStats,
          batchId,
        } satisfies ServerFrame),
      );
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    // Every frame that wakes the hub costs a token (pings are answered without waking it).
    // Past the budget the socket is closed with 1008 (policy violation, RFC 6455 7.4.1),
    // not answered: an error reply would let a client keep waking the hub at its own pace,
    // a closed socket sends nothing more, and a new one needs a ticket (its own bucket).
    const rl = this.buckets.take("frames", this.limits.costFrame);
    if (!rl.allowed) {
      closeQuietly(ws, POLICY_VIOLATION, reconnectReason(rl.retryAfterSeconds));
      return;
    }
    const size = typeof message === "string" ? message.length : message.byteLength;
    if (size > MAX_CLIENT_FRAME_BYTES) {
      send(
        ws,
        errorFrame("frame_too_large", `A client frame is at most ${MAX_CLIENT_FRAME_BYTES} bytes`),
      );
      return;
    }
    let data: unknown;
    try {
      data = JSON.parse(typeof message === "string" ? message : new TextDecoder().decode(message));
    } catch {
      data = undefined;
    }
    const frame = clientFrameSchema.safeParse(data);
    if (!frame.success) {
      send(ws, errorFrame("bad_frame", 'Expected {"type":"resume","since":<seq>}'));
      return;
    }
    const attachment = attachmentOf(ws);
    if (!attachment) {
      ws.close(1011, "lost socket state");
      return;
    }
    const { since } = frame.data;
    const upTo = attachment.helloSeq;
    if (since >= upTo) return;
    const first = this.eventsSince(since, 1, upTo);
    // A longer gap than one frame may replay is a `reset`: the client refetches instead.
    if (first.gap || upTo - since > this.limits.resumeMaxEvents) {
      send(ws, JSON.stringify({ type: "reset", seq: this.seq } satisfies ServerFrame));
      return;
    }
    // Replays what the client missed before its hello, in order; later events went out live.
    let cursor = since;
    while (cursor < upTo) {
      const page = this.eventsSince(cursor, 1000, upTo);
      if (page.events.length === 0) break;
      for (const e of page.events) send(ws, JSON.stringify(e));
      cursor = page.events.at(-1)?.seq ?? upTo;
    }
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    closeQuietly(ws, code === 1005 ? 1000 : code, "closing");
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    closeQuietly(ws, 1011, "socket error");
  }

  /** Coalesced stats: one alarm per debounce window, counted by D1, so they never drift. */
  private scheduleStats(): void {
    this.ctx.storage.getAlarm().then((at) => {
      if (at === null) return this.ctx.storage.setAlarm(Date.now() + STATS_DEBOUNCE_MS);
    });
  }

  override async alarm(): Promise<void> {
    const sockets = this.ctx.getWebSockets();
    if (sockets.length === 0 || !this.uid) return;
    const uid = this.uid;
    const stats: StatusCounts = await statusCounts(this.env, uid);
    const userFrame = JSON.stringify({ type: "stats", seq: this.seq, stats } satisfies ServerFrame);
    const byBatch = new Map<string, string>();
    for (const ws of sockets) {
      send(ws, userFrame);
      const batchId = attachmentOf(ws)?.batchId;
      if (!batchId) continue;
      let text = byBatch.get(batchId);
      if (!text) {
        const batchStats = await statusCounts(this.env, uid, batchId);
        text = JSON.stringify({
          type: "stats",
          seq: this.seq,
          stats: batchStats,
          batchId,
        } satisfies ServerFrame);
        byBatch.set(batchId, text);
      }
      send(ws, text);
    }
  }
}

/** The close code for a client past its frame budget (RFC 6455, section 7.4.1). */
export const POLICY_VIOLATION = 1008;

function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // already closed
  }
}

function send(ws: WebSocket, text: string): void {
  try {
    ws.send(text);
  } catch {
    // A closing socket: its client reconnects and resumes from its last seq.
  }
}

function errorFrame(code: string, message: string): string {
  return JSON.stringify({ type: "error", code, message } satisfies ServerFrame);
}
