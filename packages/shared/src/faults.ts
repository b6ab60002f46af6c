// Fault injection for the load test's chaos run (`npm run load -- --chaos`). It is off
// unless the var DARKROOM_FAULTS is set (only `scripts/load.mjs` sets it, in the
// environment of `npm run dev`, which hands it to the processor and the embedder); no
// wrangler.toml declares it, so a deployed worker never has it, and a test checks that
// every [env.production] leaves it out.
//
// Spec: comma-separated `name:rate` pairs, rate in [0, 1]:
//   r2-put        BUCKET.put throws (a transient R2 failure) with this probability
//   dup-delivery  a queue message is handled a second time (at-least-once delivery)

export type FaultSpec = { r2Put: number; dupDelivery: number };

export function parseFaults(raw: string): FaultSpec {
  const spec: FaultSpec = { r2Put: 0, dupDelivery: 0 };
  for (const part of raw.split(",")) {
    const item = part.trim();
    if (!item) continue;
    const [name, value] = item.split(":");
    const rate = Number(value);
    if (!Number.isFinite(rate) || rate < 0 || rate > 1) {
      throw new Error(`DARKROOM_FAULTS: rate of ${name} must be in [0, 1], not ${value}`);
    }
    if (name === "r2-put") spec.r2Put = rate;
    else if (name === "dup-delivery") spec.dupDelivery = rate;
    else throw new Error(`DARKROOM_FAULTS: unknown fault ${name}`);
  }
  return spec;
}

export class InjectedFault extends Error {
  constructor(what: string) {
    super(`injected fault: ${what}`);
    this.name = "InjectedFault";
  }
}

export type Faults<E> = {
  /** The env to hand the stage: the same object when faults are off. */
  env: E;
  /** The queue handler itself, which then runs twice on an injected duplicate delivery. */
  deliver: <B, R>(handler: (env: E, body: B) => Promise<R>) => (env: E, body: B) => Promise<R>;
};

/**
 * Wraps a queue handler's env. Without DARKROOM_FAULTS (or with it empty) it returns the
 * env untouched and one delivery per message, so production code paths are unchanged.
 */
export function withFaults<E extends { BUCKET: R2Bucket }>(
  env: E,
  random: () => number = Math.random,
): Faults<E> {
  const raw: unknown = (env as { DARKROOM_FAULTS?: unknown }).DARKROOM_FAULTS;
  if (typeof raw !== "string" || raw.trim() === "") {
    return {
      env,
      deliver: (handler) => handler,
    };
  }
  const spec = parseFaults(raw);
  const bucket = env.BUCKET;
  const faultyBucket = new Proxy(bucket, {
    get(target, key) {
      if (key === "put" && spec.r2Put > 0) {
        return (...args: Parameters<R2Bucket["put"]>) => {
          if (random() < spec.r2Put) return Promise.reject(new InjectedFault("R2 put failed"));
          return target.put(...args);
        };
      }
      const value: unknown = Reflect.get(target, key, target);
      // R2Bucket methods need their own `this`.
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const faultyEnv = new Proxy(env, {
    get(target, key) {
      return key === "BUCKET" ? faultyBucket : Reflect.get(target, key, target);
    },
  });
  return {
    env: faultyEnv,
    deliver: (handler) => async (e, body) => {
      // Sequential, like a redelivery after an ack was lost: the second run must find the
      // asset past its stage and change nothing.
      const first = await handler(e, body);
      return random() < spec.dupDelivery ? handler(e, body) : first;
    },
  };
}
