// A request under the retry policy: the same request again after network errors, 5xx,
// 408 and retryable 409s (backoff with jitter), and after 429 (Retry-After), until it
// answers or a budget is spent. For JSON API calls; upload PUTs go through nextStep
// themselves, because their renew and verify steps need the caller.

import { classifyApiAnswer, freshTries, nextStep } from "./classify.js";
import { DEFAULT_RETRY_POLICY } from "./policy.js";

/** @typedef {import("./classify.js").Verdict} Verdict */

/**
 * @typedef {object} RetryOptions
 * @property {import("./policy.js").RetryPolicy} [policy]
 * @property {(info: { attempt: number, waitMs: number, reason: string }) => void} [onRetry]
 * @property {(ms: number) => Promise<void>} [sleep]
 * @property {() => number} [random]
 * @property {AbortSignal} [signal]  stops between attempts
 */

const defaultSleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `attempt()` until it returns an answer not worth repeating, and returns it (the
 * caller reads the body). When the last attempt failed at the network, its error is
 * thrown.
 * @param {() => Promise<Response>} attempt
 * @param {RetryOptions} [opts]
 * @returns {Promise<Response>}
 */
export async function withRetries(attempt, opts = {}) {
  const { policy = DEFAULT_RETRY_POLICY, onRetry, sleep = defaultSleep, random, signal } = opts;
  const tries = freshTries();
  for (let n = 1; ; n++) {
    /** @type {Response | null} */
    let res = null;
    /** @type {Verdict} */
    let verdict;
    /** @type {unknown} */
    let thrown;
    try {
      res = await attempt();
      if (res.ok) return res;
      // The body is read only when the answer might be retried: a 409's code decides.
      const body = res.status === 409 ? await res.clone().text() : "";
      verdict = classifyApiAnswer({
        status: res.status,
        body,
        retryAfter: res.headers.get("retry-after"),
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      thrown = err;
      verdict = classifyApiAnswer({
        status: 0,
        networkError: err instanceof Error ? err.message : String(err),
      });
    }
    const step = nextStep(verdict, tries, { policy, random });
    if (step.action !== "wait" && step.action !== "pause") {
      if (res) return res;
      throw thrown;
    }
    await res?.body?.cancel();
    onRetry?.({ attempt: n, waitMs: step.waitMs, reason: step.reason });
    await sleep(step.waitMs);
    if (signal?.aborted) throw new Error("aborted");
  }
}
