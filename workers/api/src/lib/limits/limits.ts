import { numberVar, readVars } from "@darkroom/shared/vars";

/**
 * Every limit of the api in one table: what each action costs, the buckets it draws
 * from, and the caps that are not rates. Defaults live here; a deployment overrides any
 * of them with the var named beside it (`[vars]` in wrangler.toml, strings like every
 * var). docs/operations.md explains each and what its refusal looks like.
 *
 * Costs are in tokens of the bucket they draw from; a request's total is rounded up, so
 * fractional costs add up across the files of one request.
 */
export const LIMITS = {
  // The "work" bucket: everything that makes the pipeline (R2, processing, AI) work.
  workCapacity: { var: "RATE_LIMIT_CAPACITY", default: 3000 },
  workRefillPerMinute: { var: "RATE_LIMIT_REFILL_PER_MINUTE", default: 600 },
  /** A file of POST /api/uploads that becomes a new asset: a row, an upload, processing. */
  costNewFile: { var: "COST_NEW_FILE", default: 1, free: true },
  /** A duplicate or resumed file of POST /api/uploads: a batch_items row, a signed URL. */
  costListedFile: { var: "COST_LISTED_FILE", default: 0.1, free: true },
  /** Each asset a retry sends back through its stage. */
  costRetry: { var: "COST_RETRY", default: 1, free: true },

  // The "search" bucket: a search embeds its query with Workers AI in production (billed
  // per call) and queries the vector index; `similar` queries the index.
  searchCapacity: { var: "SEARCH_RATE_CAPACITY", default: 60 },
  searchRefillPerMinute: { var: "SEARCH_RATE_REFILL_PER_MINUTE", default: 30 },
  costSearch: { var: "COST_SEARCH", default: 1, free: true },

  // The "reads" bucket: reads whose cost grows with the library. GET /api/stats is a
  // GROUP BY over every asset of the user (or of a batch); a page reads it once per drop
  // and gets the rest from its socket's stats frames, the CLI polls it every 5 s.
  readCapacity: { var: "READ_RATE_CAPACITY", default: 60 },
  readRefillPerMinute: { var: "READ_RATE_REFILL_PER_MINUTE", default: 60 },
  costStats: { var: "COST_STATS", default: 1, free: true },

  // The hub: WebSocket tickets, sockets and client frames, per user.
  ticketCapacity: { var: "TICKET_RATE_CAPACITY", default: 20 },
  ticketRefillPerMinute: { var: "TICKET_RATE_REFILL_PER_MINUTE", default: 10 },
  costTicket: { var: "COST_TICKET", default: 1, free: true },
  /** Any frame a client sends (a `resume`, or garbage): it wakes the hub. Pings are free. */
  frameCapacity: { var: "FRAME_RATE_CAPACITY", default: 20 },
  frameRefillPerMinute: { var: "FRAME_RATE_REFILL_PER_MINUTE", default: 10 },
  costFrame: { var: "COST_FRAME", default: 1, free: true },
  /** Open sockets per user: a tab each, with room for a few. */
  maxSockets: { var: "MAX_SOCKETS_PER_USER", default: 10, integer: true },
  /** Events one `resume` frame replays at most; a longer gap is answered with `reset`. */
  resumeMaxEvents: { var: "RESUME_MAX_EVENTS", default: 2000, integer: true },

  /** Retries per asset: after this many, retrying answers 409 retry_limit_reached. */
  maxRetries: { var: "MAX_RETRIES_PER_ASSET", default: 3, integer: true },
  /** A batch that owns no asset (only duplicates, or all deleted/expired) is swept after this. */
  emptyBatchTtlSeconds: { var: "EMPTY_BATCH_TTL_SECONDS", default: 3600 },
  /**
   * `pending` assets per user (registered, bytes not received yet): POST /api/uploads refuses
   * new files past it (lib/limits/backlog.ts). 5,000: a 2,000-photo drop registers at most 2,000
   * before its bytes go, and the work bucket's 3,000 tokens let a script register 3,000 at
   * once and 600 a minute after, 18,000 in the 25 min an unsent row lives: the cap, not
   * the bucket, bounds what the sweeper must expire.
   */
  maxPending: { var: "MAX_PENDING_UPLOADS", default: 5000, integer: true },
  /**
   * Batches that own no asset, made by a user within EMPTY_BATCH_TTL_SECONDS: a POST of
   * files all uploaded already, without a batchId, is refused past it. A page or the CLI
   * makes one batch per drop; a re-posting loop may make 60 a minute within the bucket.
   */
  maxEmptyBatches: { var: "MAX_EMPTY_BATCHES", default: 100, integer: true },
} as const satisfies Record<
  string,
  { var: string; default: number; free?: boolean; integer?: boolean }
>;

export type Limits = { -readonly [K in keyof typeof LIMITS]: number };

// Each var in the shared dialect (@darkroom/shared/vars): unset or empty means the default,
// a plain decimal otherwise. Only a cost may be 0 (free).
const limitsShape = Object.fromEntries(
  Object.values(LIMITS).map((l) => [
    l.var,
    numberVar(l.default, { positive: !("free" in l), integer: "integer" in l }),
  ]),
);

const cache = new WeakMap<object, Limits>();

/**
 * This deployment's limits: each from its var when the env has it, else the default.
 * Throws, naming the var and its value, on anything but a number the limit admits.
 */
export function limits(env: object): Limits {
  const cached = cache.get(env);
  if (cached) return cached;
  const vars: Record<string, number> = readVars(limitsShape, env, "Invalid limit");
  const out = Object.fromEntries(
    Object.entries(LIMITS).map(([key, l]) => [key, vars[l.var]]),
  ) as Limits;
  cache.set(env, out);
  return out;
}

/** The token buckets each user's hub keeps, and the policy of each. */
export const bucketNames = ["work", "search", "reads", "tickets", "frames"] as const;
export type BucketName = (typeof bucketNames)[number];
export type BucketPolicy = { capacity: number; refillPerMinute: number };

export function bucketPolicies(l: Limits): Record<BucketName, BucketPolicy> {
  return {
    work: { capacity: l.workCapacity, refillPerMinute: l.workRefillPerMinute },
    search: { capacity: l.searchCapacity, refillPerMinute: l.searchRefillPerMinute },
    reads: { capacity: l.readCapacity, refillPerMinute: l.readRefillPerMinute },
    tickets: { capacity: l.ticketCapacity, refillPerMinute: l.ticketRefillPerMinute },
    frames: { capacity: l.frameCapacity, refillPerMinute: l.frameRefillPerMinute },
  };
}
