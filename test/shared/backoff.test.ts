import { describe, expect, it } from "vitest";
import {
  backoffSeconds,
  fullJitterMs,
  QUEUE_BACKOFF,
  QUEUES_MAX_DELAY_SECONDS,
} from "../../packages/shared/src/lifecycle/backoff.js";

describe("the one backoff", () => {
  it("jitters over the whole window, from zero to the ceiling (full jitter)", () => {
    const policy = { baseMs: 1000, capMs: 60_000 };
    expect(fullJitterMs(3, policy, () => 0)).toBe(0);
    expect(fullJitterMs(3, policy, () => 0.25)).toBe(1000);
    expect(fullJitterMs(3, policy, () => 1)).toBe(4000);
    expect(fullJitterMs(50, policy, () => 1)).toBe(60_000);
  });

  it("spreads queue retries from seconds to hours, at least 1 s, never past Queues' 12 hours", () => {
    expect(backoffSeconds(1, () => 0)).toBe(1);
    expect(backoffSeconds(1, () => 1)).toBe(QUEUE_BACKOFF.baseMs / 1000);
    expect(backoffSeconds(12, () => 1)).toBeGreaterThan(60 * 60);
    expect(backoffSeconds(100, () => 1)).toBe(QUEUES_MAX_DELAY_SECONDS);
    expect(QUEUES_MAX_DELAY_SECONDS).toBe(43_200);
  });
});
