import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Store } from "../src/store";

// Frames and time are driven by hand: no test waits for a clock.
let frames: Array<() => void> = [];
let now = 1000;
const g = globalThis as { requestAnimationFrame?: (cb: () => void) => number };

beforeEach(() => {
  frames = [];
  now = 1000;
  g.requestAnimationFrame = (cb) => frames.push(cb);
  vi.spyOn(performance, "now").mockImplementation(() => now);
  vi.useFakeTimers({ toFake: ["setTimeout"] });
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  delete g.requestAnimationFrame;
});

const runFrames = () => {
  const due = frames;
  frames = [];
  for (const f of due) f();
};

describe("Store", () => {
  it("notifies once in the next frame for any number of changes", () => {
    const s = new Store();
    let seen = 0;
    s.subscribe(() => {
      seen += 1;
    });
    for (let i = 0; i < 1000; i++) s.changed();
    expect(frames.length).toBe(1);
    runFrames();
    expect(seen).toBe(1);
    expect(s.rev).toBe(1000);
  });

  it("notifies at most once per 100 ms: a change soon after a notification waits", () => {
    const s = new Store();
    let seen = 0;
    s.subscribe(() => {
      seen += 1;
    });
    s.changed();
    runFrames();
    now += 16;
    s.changed();
    // No frame asked for yet: the next notification is due 100 ms after the last.
    expect(frames.length).toBe(0);
    now += 84;
    vi.advanceTimersByTime(84);
    expect(frames.length).toBe(1);
    runFrames();
    expect(seen).toBe(2);
  });
});
