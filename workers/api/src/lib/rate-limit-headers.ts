import type { BucketName } from "./limits";
import type { BucketTake } from "./token-bucket";

/** What a bucket (or a concurrency cap) answered, as the RateLimit headers tell it. */
export type RateLimitResult = BucketTake & {
  /** The policy's name in `RateLimit-Policy` / `RateLimit`: the bucket, or `sockets`. */
  policy: BucketName | "sockets";
  /** The draft's `w`; absent for a concurrency cap, which has no window. */
  windowSeconds?: number;
};

/**
 * The RateLimit headers of an answer, the same on every limited route: the IETF draft's
 * `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers-10: a quoted
 * policy name with `q`/`w`, and `r`/`t`), the older draft's `RateLimit-Limit`,
 * `-Remaining`, `-Reset` that this API sent first, their `X-` twins, and `Retry-After`
 * on a refusal. On a refusal `t` is the Retry-After ("SHOULD reference the same point in
 * time"); otherwise it is when the bucket is full again.
 */
export function rateLimitHeaders(rl: RateLimitResult): Record<string, string> {
  const t = rl.allowed ? rl.resetSeconds : rl.retryAfterSeconds;
  const w = rl.windowSeconds === undefined ? "" : `;w=${rl.windowSeconds}`;
  const headers: Record<string, string> = {
    "RateLimit-Policy": `"${rl.policy}";q=${rl.limit}${w}`,
    RateLimit: `"${rl.policy}";r=${rl.remaining};t=${t}`,
  };
  for (const prefix of ["", "X-"]) {
    headers[`${prefix}RateLimit-Limit`] = String(rl.limit);
    headers[`${prefix}RateLimit-Remaining`] = String(rl.remaining);
    headers[`${prefix}RateLimit-Reset`] = String(rl.resetSeconds);
  }
  if (!rl.allowed) headers["Retry-After"] = String(rl.retryAfterSeconds);
  return headers;
}
