import { withShards } from "../../../test/workerd/shards";
import { makeEnv } from "./helpers";

/** Every call a request made on a binding, as `BINDING.method`, in order. */
export type Calls = string[];

/** Forwards every method of `target`, recording the call first. */
function metered<T extends object>(name: string, target: T, calls: Calls): T {
  return new Proxy(target, {
    get(t, prop, receiver) {
      const value: unknown = Reflect.get(t, prop, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.push(`${name}.${String(prop)}`);
        return Reflect.apply(value, t, args);
      };
    },
  });
}

/**
 * `env` (the test env by default) with every binding that costs something metered: D1,
 * R2, both queues, both Durable Object namespaces, and an Analytics Engine dataset (absent
 * from local runs, so a recording one stands in).
 */
export function meteredEnv(env: Env = makeEnv().env): { env: Env; calls: Calls } {
  const calls: Calls = [];
  const metrics: AnalyticsEngineDataset = {
    writeDataPoint: () => {
      calls.push("METRICS.writeDataPoint");
    },
  };
  return {
    calls,
    env: {
      ...withShards(env, (db, n) => metered(`DB_${n}`, db, calls)),
      DIRECTORY: metered("DIRECTORY", env.DIRECTORY, calls),
      BUCKET: metered("BUCKET", env.BUCKET, calls),
      UPLOADS_QUEUE: metered("UPLOADS_QUEUE", env.UPLOADS_QUEUE, calls),
      EMBED_QUEUE: metered("EMBED_QUEUE", env.EMBED_QUEUE, calls),
      USER_HUB: metered("USER_HUB", env.USER_HUB, calls),
      AI_BREAKER: metered("AI_BREAKER", env.AI_BREAKER, calls),
      METRICS: metrics,
    },
  };
}
