import type { RateLimitState } from "./lib/limits/rate-limit";

export type AppEnv = {
  Bindings: Env;
  Variables: {
    uid: string;
    sub: string;
    /** Set by `rateLimit(bucket)` (lib/limits/rate-limit.ts) on a rate-limited route. */
    rateLimit?: RateLimitState;
  };
};
