export type BucketTake = {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
  /** Seconds until `cost` tokens are available (0 when allowed). */
  retryAfterSeconds: number;
};

/** A token bucket that takes all of a request's cost or none of it. */
export class TokenBucket {
  private readonly refillPerMs: number;

  constructor(
    readonly capacity: number,
    refillPerMinute: number,
    public tokens: number,
    public refilledAt: number,
  ) {
    this.refillPerMs = refillPerMinute / 60_000;
  }

  take(cost: number, now: number): BucketTake {
    this.tokens = Math.min(
      this.capacity,
      this.tokens + Math.max(0, now - this.refilledAt) * this.refillPerMs,
    );
    this.refilledAt = now;
    const allowed = cost <= this.tokens;
    if (allowed) this.tokens -= cost;
    const missing = Math.min(cost, this.capacity) - this.tokens;
    return {
      allowed,
      limit: this.capacity,
      remaining: Math.floor(this.tokens),
      resetSeconds: Math.ceil((this.capacity - this.tokens) / this.refillPerMs / 1000),
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(missing / this.refillPerMs / 1000)),
    };
  }
}
