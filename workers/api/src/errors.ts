import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type RateLimitResult, rateLimitHeaders } from "./lib/limits/rate-limit-headers";

/** The one error type handlers throw; `app.onError` turns it into DESIGN.md's body. */
export class HttpError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export class BadRequest extends HttpError {
  constructor(code: string, message: string, details?: unknown) {
    super(400, code, message, details);
  }
}

export class Unauthorized extends HttpError {
  constructor(message = "A valid bearer token is required") {
    super(401, "unauthorized", message);
  }
}

export class Forbidden extends HttpError {
  constructor(code: string, message: string) {
    super(403, code, message);
  }
}

export class NotFound extends HttpError {
  constructor(message = "Not found") {
    super(404, "not_found", message);
  }
}

export class Conflict extends HttpError {
  constructor(code: string, message: string, details?: unknown) {
    super(409, code, message, details);
  }
}

export class PayloadMismatch extends HttpError {
  constructor(code: string, message: string) {
    super(400, code, message);
  }
}

export class PreconditionFailed extends HttpError {
  constructor(code: string, message: string) {
    super(412, code, message);
  }
}

/** A body over the route's limit, refused before it is read (hono's `bodyLimit`). */
export class PayloadTooLarge extends HttpError {
  constructor(maxBytes: number) {
    super(413, "payload_too_large", `The request body is over this route's ${maxBytes} bytes`, {
      maxBytes,
    });
  }
}

/** A refusal for want of tokens (or sockets): 429 with Retry-After and the RateLimit headers. */
export class TooManyRequests extends HttpError {
  constructor(rl: RateLimitResult, what: string) {
    super(
      429,
      "rate_limited",
      `Too many ${what}; try again in ${rl.retryAfterSeconds} s`,
      { policy: rl.policy, retryAfterSeconds: rl.retryAfterSeconds },
      rateLimitHeaders(rl),
    );
  }
}
