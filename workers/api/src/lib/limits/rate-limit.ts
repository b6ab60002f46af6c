import type { Context, MiddlewareHandler } from "hono";
import { TooManyRequests } from "../../errors";
import type { AppEnv } from "../../types";
import { hubFor } from "../bindings/hub";
import type { BucketName } from "./limits";
import { type RateLimitResult, rateLimitHeaders } from "./rate-limit-headers";

/** What `rateLimit` keeps for one request: its bucket, and what the last charge answered. */
export type RateLimitState = { bucket: BucketName; result: RateLimitResult | null };

/**
 * The one place RateLimit headers are written (hono middleware: state set up, `await
 * next()`, headers on the answer). A route limited by `bucket` spends from it with
 * `charge`; every answer of the route carries the headers, whatever it is: the charge's
 * result, or, for an answer that charged nothing (a refusal before the work: a bad body,
 * a missing batch, a backlog cap…), a free take that reads where the bucket stands. Goes
 * after `requireUser`: the bucket is the user's.
 */
export function rateLimit(bucket: BucketName): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const state: RateLimitState = { bucket, result: null };
    c.set("rateLimit", state);
    await next();
    const rl = state.result ?? (await hubFor(c.env, c.get("uid")).take(bucket, 0));
    for (const [name, value] of Object.entries(rateLimitHeaders(rl))) c.header(name, value);
  };
}

/**
 * Takes `cost` tokens of the route's bucket (`rateLimit`) before the work they pay for,
 * and refuses with 429 when they are not all there. `what` names the work in the
 * refusal's message.
 */
export async function charge(
  c: Context<AppEnv>,
  cost: number,
  what: string,
): Promise<RateLimitResult> {
  const state = c.get("rateLimit");
  if (!state) throw new Error(`charge for ${what} on a route without rateLimit(bucket)`);
  const rl = await hubFor(c.env, c.get("uid")).take(state.bucket, Math.ceil(cost));
  state.result = rl;
  if (!rl.allowed) throw new TooManyRequests(rl, what);
  return rl;
}
