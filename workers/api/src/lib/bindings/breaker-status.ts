import {
  AI_BREAKER_NAME,
  aiBreaker,
  type BreakerNamespace,
  type BreakerStatus,
} from "@darkroom/shared";

/**
 * How long an isolate answers `GET /api/stats/ai` from the breaker's status it last read.
 * The breaker is one Durable Object for the whole deployment, which every embed also asks
 * before each AI step: a page (or a loop) asking for the status must not add a call to it
 * per request. A few seconds stale is nothing for a status a person reads.
 */
export const BREAKER_STATUS_TTL_MS = 5_000;

/** Entries per isolate: one per breaker, and a deployment has one (tests make more). */
const MAX_ENTRIES = 16;

type Entry = { at: number; status: Promise<BreakerStatus> };
const cache = new Map<string, Entry>();

/**
 * The breaker's status, read at most once per `BREAKER_STATUS_TTL_MS` per isolate; callers
 * within that time, or while the read is in flight, share it. Keyed by the object's id
 * (computed locally, no call), not by the binding object, which the runtime may hand out
 * anew per request. A failed read is not kept: the next caller asks again.
 */
export function cachedBreakerStatus(
  ns: BreakerNamespace,
  now = Date.now(),
): Promise<BreakerStatus> {
  const key = ns.idFromName(AI_BREAKER_NAME).toString();
  const hit = cache.get(key);
  // A clock that went back is not trusted to mean "fresh".
  if (hit && now >= hit.at && now - hit.at < BREAKER_STATUS_TTL_MS) return hit.status;
  const status = aiBreaker(ns).status(now);
  cache.delete(key);
  if (cache.size >= MAX_ENTRIES) {
    const oldest = cache.keys().next();
    if (!oldest.done) cache.delete(oldest.value);
  }
  cache.set(key, { at: now, status });
  status.catch(() => {
    if (cache.get(key)?.status === status) cache.delete(key);
  });
  return status;
}
