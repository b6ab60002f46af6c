// What a client does with an answer. One classification for the page and the CLI, for
// both places a PUT can land: R2's presigned S3 endpoint (UPLOAD_MODE=r2, XML errors) and
// the api's local stand-in (UPLOAD_MODE=local, workers/api/src/routes/local-upload.ts,
// JSON errors). Each R2 code below maps to the same class as its local twin.
//
// Sources (Cloudflare's docs, checked 2026-12):
// - https://developers.cloudflare.com/r2/api/error-codes/ : 412 PreconditionFailed,
//   403 SignatureDoesNotMatch, 403 AccessDenied, ExpiredRequest (10018; 403 since
//   cloudflare-docs PR #32436, listed as 400 before it, so the code decides, not the
//   status), 400 IncompleteBody and ClientDisconnect, 429 TooManyRequests,
//   500 InternalError, 503 ServiceUnavailable, 400 BadDigest.
// - https://developers.cloudflare.com/r2/api/s3/conditional-operations/ : a PUT with
//   `If-None-Match: *` commits only when the key does not exist yet; otherwise 412.
// - https://developers.cloudflare.com/r2/api/s3/presigned-urls/ : tampered or mismatched
//   signed parts answer 403 SignatureDoesNotMatch.
// - Amazon S3, whose API R2 implements, answers an expired presigned URL with 403
//   AccessDenied "Request has expired" (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html);
//   S3-compatible servers used in tests do the same, so that form is read as expiry too.
// - https://developers.cloudflare.com/r2/buckets/cors/ : CORS headers come only with a
//   valid CORS request; an error answer without them reaches the page as status 0.

import { errorInfo } from "./errors.js";
import { backoffMs, DEFAULT_RETRY_POLICY, retryAfterMs } from "./policy.js";

/** @typedef {import("./errors.js").ErrorInfo} ErrorInfo */
/** @typedef {import("./policy.js").RetryPolicy} RetryPolicy */

/**
 * An answer as the transport saw it. `status: 0` means no readable answer: the
 * connection failed, or (in a browser) an error answer came without CORS headers.
 * @typedef {object} Answer
 * @property {number} status
 * @property {string} [body]
 * @property {string | null} [retryAfter]   the Retry-After header
 * @property {string} [statusText]
 * @property {string} [networkError]        what the transport knows when status is 0
 */

/**
 * The classes of answers. `verify`: the object is already stored (a PUT that landed but
 * whose answer was lost): ask the API whether the asset is uploaded. `renew`: the URL
 * expired or its signature was refused: get a fresh URL (re-POST the file) and PUT again.
 * `retry`: transient, same request again after a backoff. `throttle`: 429, wait
 * Retry-After (the limit is per user, so a scheduler pauses every upload). `fail`: the
 * same request cannot succeed.
 * @typedef {{ kind: "done" }
 *   | { kind: "verify", code: string, message: string }
 *   | { kind: "renew", reason: "expired" | "signature", code: string, message: string }
 *   | { kind: "retry", reason: "network" | "server" | "incomplete" | "conflict" | "pending", code: string, message: string, retryAfterMs: number | null }
 *   | { kind: "throttle", code: string, message: string, retryAfterMs: number | null }
 *   | { kind: "fail", code: string, message: string }} Verdict
 */

/** 400s that say the body was cut off on the way: the same PUT again can succeed. */
const INCOMPLETE_CODES = new Set(["IncompleteBody", "ClientDisconnect", "RequestTimeout"]);
/** Expired URL: R2's ExpiredRequest, S3's AccessDenied "Request has expired", ours. */
const EXPIRED_CODES = new Set(["ExpiredRequest", "url_expired"]);
const SIGNATURE_CODES = new Set(["SignatureDoesNotMatch", "invalid_signature"]);
/** Our API's 409s that ask to try again (workers/api/src/routes/uploads.ts). */
const RETRYABLE_CONFLICTS = new Set(["upload_race", "asset_deleting"]);

/**
 * @param {Answer} a
 * @param {number} now
 * @returns {Verdict | null} the verdict shared by every kind of request, or null
 */
function common(a, now) {
  if (a.status === 0) {
    return {
      kind: "retry",
      reason: "network",
      code: "network_error",
      message: a.networkError || "no answer (connection failed, or blocked by CORS)",
      retryAfterMs: null,
    };
  }
  if (a.status >= 200 && a.status < 300) return { kind: "done" };
  const info = errorInfo(a.status, a.body ?? "", a.statusText);
  if (a.status === 429) {
    return { kind: "throttle", ...info, retryAfterMs: retryAfterMs(a.retryAfter, now) };
  }
  if (a.status === 408 || a.status >= 500) {
    return {
      kind: "retry",
      reason: "server",
      ...info,
      retryAfterMs: retryAfterMs(a.retryAfter, now),
    };
  }
  return null;
}

/**
 * The answer to an upload PUT (R2 presigned or the local route).
 * @param {Answer} a
 * @param {number} [now]
 * @returns {Verdict}
 */
export function classifyPutAnswer(a, now = Date.now()) {
  const shared = common(a, now);
  if (shared) return shared;
  const info = errorInfo(a.status, a.body ?? "", a.statusText);
  if (a.status === 412) return { kind: "verify", ...info };
  if (
    EXPIRED_CODES.has(info.code) ||
    (info.code === "AccessDenied" && /expired/i.test(info.message))
  ) {
    return { kind: "renew", reason: "expired", ...info };
  }
  if (SIGNATURE_CODES.has(info.code)) return { kind: "renew", reason: "signature", ...info };
  // A 403 whose body says nothing we know (a proxy's page): only a fresh URL can help,
  // and renewals are bounded.
  if (a.status === 403 && info.code === `http_${a.status}`) {
    return { kind: "renew", reason: "signature", ...info };
  }
  if (a.status === 400 && INCOMPLETE_CODES.has(info.code)) {
    return { kind: "retry", reason: "incomplete", ...info, retryAfterMs: null };
  }
  // S3's answer to two conditional PUTs at once; the next try sees 412 or succeeds.
  if (a.status === 409) return { kind: "retry", reason: "conflict", ...info, retryAfterMs: null };
  return { kind: "fail", ...info };
}

/**
 * The answer of our JSON API (POST /api/uploads, GET /api/assets/:id, …).
 * @param {Answer} a
 * @param {number} [now]
 * @returns {Verdict}
 */
export function classifyApiAnswer(a, now = Date.now()) {
  const shared = common(a, now);
  if (shared) return shared;
  const info = errorInfo(a.status, a.body ?? "", a.statusText);
  if (a.status === 409 && RETRYABLE_CONFLICTS.has(info.code)) {
    return {
      kind: "retry",
      reason: "conflict",
      ...info,
      retryAfterMs: retryAfterMs(a.retryAfter, now),
    };
  }
  return { kind: "fail", ...info };
}

/** Statuses whose original is in the bucket (workers/api/src/lib/answers/asset-json.ts). */
const STORED = new Set(["uploaded", "processing", "processed", "embedding", "ready"]);

/**
 * After a `verify` verdict: what GET /api/assets/:id says. Stored (or failed after the
 * upload stage) → done. Still `pending` → retry: the object is there but its create
 * notification has not been handled yet (the sweeper re-sends it for any pending row
 * whose object exists), so look again after a backoff. Gone → fail.
 * @param {Answer} a   the GET's answer
 * @param {{ status: string, error?: { stage: string } | null } | null} asset  its parsed body when 2xx
 * @param {number} [now]
 * @returns {Verdict}
 */
export function classifyUploadedAsset(a, asset, now = Date.now()) {
  if (a.status === 404) {
    return { kind: "fail", code: "asset_gone", message: "The photo was deleted meanwhile" };
  }
  const v = classifyApiAnswer(a, now);
  if (v.kind !== "done") return v;
  if (!asset)
    return { kind: "fail", code: "bad_answer", message: "The asset answer was unreadable" };
  if (STORED.has(asset.status) || (asset.status === "failed" && asset.error?.stage !== "upload")) {
    return { kind: "done" };
  }
  if (asset.status === "pending") {
    return {
      kind: "retry",
      reason: "pending",
      code: "not_yet_uploaded",
      message: "The storage holds the file; the server has not registered it yet",
      retryAfterMs: null,
    };
  }
  return { kind: "fail", code: "asset_gone", message: `The photo is ${asset.status}` };
}

/**
 * What the client has spent on one request or file. `nextStep` counts into it.
 * @typedef {{ retries: number, renewals: number, verifies: number, throttles: number }} Tries
 */

/** @returns {Tries} */
export function freshTries() {
  return { retries: 0, renewals: 0, verifies: 0, throttles: 0 };
}

/**
 * What to do next, within the policy's budgets; never an endless loop: every path that
 * goes round again spends one unit of a bounded budget.
 * - `done`: finished.
 * - `verify`: ask the API whether the asset is uploaded (then classifyUploadedAsset).
 * - `renew`: fetch a fresh URL (re-POST the file) and PUT again.
 * - `wait`: the same request again after `waitMs`.
 * - `pause`: 429: stop sending for `waitMs` (every request of this user), then again.
 * - `fail`: give up with `reason`, which says why and after how many tries.
 * @param {Verdict} v
 * @param {Tries} tries  mutated: the unit this step spends is counted
 * @param {{ policy?: RetryPolicy, random?: () => number }} [opts]
 * @returns {{ action: "done" } | { action: "verify" } | { action: "renew" }
 *   | { action: "wait" | "pause", waitMs: number, reason: string }
 *   | { action: "fail", code: string, reason: string }}
 */
export function nextStep(v, tries, { policy = DEFAULT_RETRY_POLICY, random = Math.random } = {}) {
  switch (v.kind) {
    case "done":
      return { action: "done" };
    case "verify":
      if (tries.verifies >= policy.maxVerifies) {
        return { action: "fail", code: v.code, reason: `${v.code}: ${v.message}` };
      }
      tries.verifies += 1;
      return { action: "verify" };
    case "renew":
      if (tries.renewals >= policy.maxRenewals) {
        return {
          action: "fail",
          code: v.code,
          reason: `${describe(v)}; no usable URL after ${tries.renewals} fresh ones`,
        };
      }
      tries.renewals += 1;
      return { action: "renew" };
    case "retry": {
      const budget = v.reason === "pending" ? policy.maxVerifies : policy.maxRetries;
      const spent = v.reason === "pending" ? tries.verifies : tries.retries;
      if (spent >= budget) {
        return {
          action: "fail",
          code: v.code,
          reason: `gave up after ${spent + 1} attempts: ${describe(v)}`,
        };
      }
      if (v.reason === "pending") tries.verifies += 1;
      else tries.retries += 1;
      const n = v.reason === "pending" ? tries.verifies : tries.retries;
      return {
        action: "wait",
        waitMs: v.retryAfterMs ?? backoffMs(n, policy, random),
        reason: describe(v),
      };
    }
    case "throttle":
      if (tries.throttles >= policy.maxThrottles) {
        return {
          action: "fail",
          code: v.code,
          reason: `still rate limited after ${tries.throttles} waits: ${describe(v)}`,
        };
      }
      tries.throttles += 1;
      return {
        action: "pause",
        waitMs: v.retryAfterMs ?? backoffMs(tries.throttles, policy, random),
        reason: "rate limited (429)",
      };
    case "fail":
      return { action: "fail", code: v.code, reason: describe(v) };
  }
}

/**
 * One line for a person: `code: message`.
 * @param {Exclude<Verdict, { kind: "done" }>} v
 */
export function describe(v) {
  return v.message ? `${v.code}: ${v.message}` : v.code;
}
