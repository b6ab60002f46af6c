// The one client retry policy of Darkroom, shared by the browser app (web/) and the CLI
// (packages/cli). Plain ESM JavaScript with JSDoc types, checked by `tsc -p
// packages/shared` (checkJs): the CLI runs on Node without a build step, the page
// bundles it with esbuild, and both read the same numbers.

import { fullJitterMs } from "../lifecycle/backoff.js";

/**
 * @typedef {object} RetryPolicy
 * @property {number} maxRetries    transient failures (network, 5xx, 408) of one request before it fails
 * @property {number} maxRenewals   fresh upload URLs for one file (expired or refused signature)
 * @property {number} maxVerifies   "is it uploaded yet?" checks after a 412 (object already there)
 * @property {number} maxThrottles  429 answers one request may wait out before it fails
 * @property {number} baseMs        first backoff
 * @property {number} capMs         backoff ceiling
 * @property {number} maxRetryAfterMs  a Retry-After beyond this is clamped: a wrong header must not park a client for hours
 */

/** @type {Readonly<RetryPolicy>} */
export const DEFAULT_RETRY_POLICY = Object.freeze({
  maxRetries: 5,
  maxRenewals: 3,
  maxVerifies: 6,
  maxThrottles: 20,
  baseMs: 500,
  capMs: 30_000,
  maxRetryAfterMs: 5 * 60_000,
});

/**
 * Delay before retry `attempt` (1-based): `baseMs` doubling to `capMs`, fully jittered
 * by the one backoff rule (lifecycle/backoff.js), so a thousand clients that failed
 * together do not come back together.
 * @param {number} attempt
 * @param {Pick<RetryPolicy, "baseMs" | "capMs">} [policy]
 * @param {() => number} [random]
 * @returns {number}
 */
export function backoffMs(attempt, policy = DEFAULT_RETRY_POLICY, random = Math.random) {
  return fullJitterMs(attempt, policy, random);
}

/**
 * `Retry-After` in ms: delay-seconds or an HTTP-date (RFC 9110 §10.2.3), clamped to
 * [0, maxRetryAfterMs]; null when absent or unreadable.
 * @param {string | null | undefined} header
 * @param {number} [now]
 * @param {Pick<RetryPolicy, "maxRetryAfterMs">} [policy]
 * @returns {number | null}
 */
export function retryAfterMs(header, now = Date.now(), policy = DEFAULT_RETRY_POLICY) {
  const value = header?.trim();
  if (!value) return null;
  let ms;
  if (/^\d+$/.test(value)) ms = Number(value) * 1000;
  else {
    // An HTTP-date names its month ("Tue, 01 Dec 2026 12:00:30 GMT"); Date.parse alone
    // would take "-3" for a year.
    const at = /[A-Za-z]{3}/.test(value) ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(at)) return null;
    ms = at - now;
  }
  return Math.min(policy.maxRetryAfterMs, Math.max(0, ms));
}
