import type { RateLimitState } from "./lib/rate-limit";

export type AppEnv = {
  Bindings: Env;
  Variables: {
    uid: string;
    sub: string;
    /** Set by `rateLimit(bucket)` (lib/rate-limit.ts) on a rate-limited route. */
    rateLimit?: RateLimitState;
  };
};
