import type { Context } from "hono";
import { TooManyRequests } from "../errors";
import type { AppEnv } from "../types";
import { hubFor } from "./hub";
import type { BucketName } from "./limits";
import { type RateLimitResult, rateLimitHeaders } from "./rate-limit-headers";

/**
 * Takes `cost` tokens of the caller's `bucket` before the work they pay for, puts the
 * RateLimit headers on the answer (whatever it turns out to be), and refuses with 429
 * when they are not all there. `what` names the work in the refusal's message.
 */
export async function charge(
  c: Context<AppEnv>,
  bucket: BucketName,
  cost: number,
  what: string,
): Promise<RateLimitResult> {
  const rl = await hubFor(c.env, c.get("uid")).take(bucket, Math.ceil(cost));
  for (const [name, value] of Object.entries(rateLimitHeaders(rl))) c.header(name, value);
  if (!rl.allowed) throw new TooManyRequests(rl, what);
  return rl;
}
