// The client side of Darkroom's contract, for the page and the CLI alike: one retry
// policy, one classification of answers (our JSON and R2's S3 XML).

export { fullJitterMs } from "../lifecycle/backoff.js";
export {
  classifyApiAnswer,
  classifyPutAnswer,
  classifyUploadedAsset,
  describe,
  freshTries,
  nextStep,
} from "./classify.js";
export { errorInfo, parseApiError, parseS3Error } from "./errors.js";
export { backoffMs, DEFAULT_RETRY_POLICY, retryAfterMs } from "./policy.js";
export { clientIdFor, MAX_CLIENT_ID_LENGTH } from "./request-ids.js";
export { withRetries } from "./with-retries.js";

/** @typedef {import("./classify.js").Answer} Answer */
/** @typedef {import("./classify.js").Verdict} Verdict */
/** @typedef {import("./classify.js").Tries} Tries */
/** @typedef {import("./errors.js").ErrorInfo} ErrorInfo */
/** @typedef {import("./policy.js").RetryPolicy} RetryPolicy */
