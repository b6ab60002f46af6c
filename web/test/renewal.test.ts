import { classifyApiAnswer } from "@darkroom/shared/client";
import { describe, expect, it } from "vitest";
import { ApiError } from "../src/api";
import { answerOf } from "../src/upload/renewal";

// A renewal that failed is judged by the shared classification (packages/shared/src/client),
// not by rules of its own: the same answer means the same thing to every request.
const verdictOf = (err: unknown) => classifyApiAnswer(answerOf(err), 0);

describe("a failed URL renewal", () => {
  it("tries again after a server error or a network failure", () => {
    expect(verdictOf(new ApiError(503, "http_503", "down", 6))).toMatchObject({
      kind: "retry",
      reason: "server",
      code: "http_503",
    });
    expect(verdictOf(new ApiError(0, "network_error", "offline", 6))).toMatchObject({
      kind: "retry",
      reason: "network",
    });
    expect(verdictOf(new TypeError("Failed to fetch"))).toMatchObject({
      kind: "retry",
      reason: "network",
      message: "Failed to fetch",
    });
  });

  it("waits out a 429 as a throttle, like every other request", () => {
    expect(verdictOf(new ApiError(429, "rate_limited", "slow down"))).toMatchObject({
      kind: "throttle",
      code: "rate_limited",
    });
  });

  it("tries again on the api's retryable conflicts, and fails on a refusal", () => {
    expect(verdictOf(new ApiError(409, "asset_deleting", "being deleted"))).toMatchObject({
      kind: "retry",
      reason: "conflict",
    });
    expect(verdictOf(new ApiError(400, "invalid_request", "bad file"))).toEqual({
      kind: "fail",
      code: "invalid_request",
      message: "bad file",
    });
  });
});
