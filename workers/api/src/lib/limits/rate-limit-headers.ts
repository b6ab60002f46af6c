import { z } from "zod";
import { bucketNames } from "./limits";

/** What a bucket (or a concurrency cap) answered, as the RateLimit headers tell it. */
export const rateLimitResultSchema = z.object({
  allowed: z.boolean(),
  limit: z.number().int().nonnegative(),
  remaining: z.number().int().nonnegative(),
  /** Seconds until the bucket is full again. */
  resetSeconds: z.number().int().nonnegative(),
  /** Seconds until the cost asked for is available (0 when allowed). */
  retryAfterSeconds: z.number().int().nonnegative(),
  /** The policy's name in `RateLimit-Policy` / `RateLimit`: the bucket, or `sockets`. */
  policy: z.enum([...bucketNames, "sockets"]),
  /** The draft's `w`; absent for a concurrency cap, which has no window. */
  windowSeconds: z.number().int().positive().optional(),
});
export type RateLimitResult = z.infer<typeof rateLimitResultSchema>;

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
