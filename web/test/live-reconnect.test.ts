import { reconnectAfterSeconds, reconnectReason } from "@darkroom/shared/events";
import { describe, expect, it } from "vitest";
import { LIVE_BACKOFF, reconnectDelayMs } from "../src/live";

describe("the live socket's reconnect", () => {
  const NOW = 1_000_000;

  it("backs off by the one rule", () => {
    expect(reconnectDelayMs(1, 0, NOW, () => 1)).toBe(LIVE_BACKOFF.baseMs);
    expect(reconnectDelayMs(10, 0, NOW, () => 1)).toBe(LIVE_BACKOFF.capMs);
  });

  it("waits at least the hub's retryAfterSeconds, whatever the jitter drew", () => {
    expect(reconnectDelayMs(1, NOW + 30_000, NOW, () => 0)).toBe(30_000);
    expect(reconnectDelayMs(1, NOW - 5_000, NOW, () => 0)).toBe(0);
  });
});

describe("the hub's close reason", () => {
  it("carries the seconds to wait, read back by the page", () => {
    expect(reconnectAfterSeconds(reconnectReason(42))).toBe(42);
    expect(reconnectAfterSeconds("closing")).toBeNull();
  });
});
