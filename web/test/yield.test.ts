import { afterEach, describe, expect, it } from "vitest";
import { yieldToEventLoop } from "../src/upload/yield";

type WithScheduler = { scheduler?: { yield?: () => Promise<void> } };
const g = globalThis as WithScheduler;
const had = "scheduler" in globalThis;
const before = g.scheduler;

afterEach(() => {
  if (had) g.scheduler = before;
  else delete g.scheduler;
});

describe("yieldToEventLoop", () => {
  it("uses scheduler.yield where the browser has it", async () => {
    let calls = 0;
    g.scheduler = {
      yield: () => {
        calls += 1;
        return Promise.resolve();
      },
    };
    await yieldToEventLoop();
    expect(calls).toBe(1);
  });

  it("without scheduler.yield, resumes in a later task: a task queued before it runs first", async () => {
    g.scheduler = {};
    const order: string[] = [];
    setTimeout(() => order.push("earlier task"), 0);
    await yieldToEventLoop();
    order.push("after the yield");
    expect(order).toEqual(["earlier task", "after the yield"]);
  });
});
