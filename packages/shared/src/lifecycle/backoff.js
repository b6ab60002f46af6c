// The one backoff of Darkroom (issue 21): the queue consumers (`backoffSeconds`), the
// dead-letter re-drive, the client's request retries (client/policy.js) and the page's
// live socket (web/src/live.ts) all wait by this rule. Plain ESM JavaScript with JSDoc
// types (backoff.d.ts for the workers, whose tsconfig reads no JavaScript), so the CLI runs
// it on Node without a build step and the page bundles it.

/**
 * @typedef {object} Backoff
 * @property {number} baseMs  the ceiling of the first wait
 * @property {number} capMs   the ceiling no wait exceeds
 */

/**
 * Exponential backoff with FULL jitter: wait `random() × min(capMs, baseMs × 2^(attempt-1))`
 * for `attempt` (1-based). The whole range, not its top half: clients or messages that
 * failed together spread over the whole window instead of coming back together in its
 * upper half (AWS Architecture Blog, "Exponential Backoff And Jitter").
 * @param {number} attempt
 * @param {Backoff} policy
 * @param {() => number} [random]
 * @returns {number}
 */
export function fullJitterMs(attempt, policy, random = Math.random) {
  const doublings = Math.min(Math.max(0, attempt - 1), 40);
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** doublings);
  return Math.round(ceiling * random());
}

/**
 * The longest delay Queues accepts on `send` or `retry`: "Messages can be delayed by up to
 * 12 hours" (https://developers.cloudflare.com/queues/configuration/batching-retries/#delay-messages).
 */
export const QUEUES_MAX_DELAY_SECONDS = 12 * 60 * 60;

/**
 * Queue retries and dead-letter re-drives: from seconds (attempt 1 waits up to 4 s) to
 * hours, never past what Queues accepts.
 * @type {Readonly<Backoff>}
 */
export const QUEUE_BACKOFF = Object.freeze({
  baseMs: 4_000,
  capMs: QUEUES_MAX_DELAY_SECONDS * 1000,
});

/**
 * Seconds for `msg.retry({ delaySeconds })` / `send(…, { delaySeconds })` on attempt
 * `attempts` (1-based): full jitter under `QUEUE_BACKOFF`, at least one second (a zero
 * delay would redeliver at once, in lockstep).
 * @param {number} attempts
 * @param {() => number} [random]
 * @returns {number}
 */
export function backoffSeconds(attempts, random = Math.random) {
  const s = Math.ceil(fullJitterMs(attempts, QUEUE_BACKOFF, random) / 1000);
  return Math.min(QUEUES_MAX_DELAY_SECONDS, Math.max(1, s));
}
