import { describe, expect, it } from "vitest";
import { ByteLane } from "../src/byte-lane";

/** A piece of work that runs until released, recording when it started. */
function gate() {
  let release = () => {};
  const done = new Promise<void>((r) => {
    release = r;
  });
  return { done, release: () => release() };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("ByteLane", () => {
  it("runs work side by side while its bytes fit, and holds back what would go past", async () => {
    const lane = new ByteLane(100);
    const started: string[] = [];
    const gates = { a: gate(), b: gate(), c: gate() };
    const run = (name: keyof typeof gates, bytes: number) =>
      lane.run(bytes, async () => {
        started.push(name);
        await gates[name].done;
      });
    const all = [run("a", 40), run("b", 40), run("c", 40)];
    await tick();
    expect(started).toEqual(["a", "b"]);
    expect(lane.inUse).toBe(80);
    expect(lane.queued).toBe(1);
    gates.a.release();
    await tick();
    expect(started).toEqual(["a", "b", "c"]);
    expect(lane.inUse).toBe(80);
    gates.b.release();
    gates.c.release();
    await Promise.all(all);
    expect(lane.inUse).toBe(0);
  });

  it("serves first come first: small work does not overtake a large one waiting", async () => {
    const lane = new ByteLane(100);
    const started: string[] = [];
    const first = gate();
    const a = lane.run(60, async () => {
      started.push("big-1");
      await first.done;
    });
    const b = lane.run(60, async () => {
      started.push("big-2");
    });
    const c = lane.run(10, async () => {
      started.push("small");
    });
    await tick();
    // 10 bytes would fit beside the first, but the second large image is ahead of it.
    expect(started).toEqual(["big-1"]);
    first.release();
    await Promise.all([a, b, c]);
    expect(started).toEqual(["big-1", "big-2", "small"]);
  });

  it("runs work larger than the whole lane alone, and frees the bytes of work that fails", async () => {
    const lane = new ByteLane(100);
    const started: string[] = [];
    const huge = gate();
    const h = lane.run(500, async () => {
      started.push("huge");
      await huge.done;
      throw new Error("decoder failed");
    });
    const s = lane.run(1, async () => {
      started.push("small");
    });
    await tick();
    expect(started).toEqual(["huge"]);
    expect(lane.inUse).toBe(100);
    huge.release();
    await expect(h).rejects.toThrow("decoder failed");
    await s;
    expect(started).toEqual(["huge", "small"]);
    expect(lane.inUse).toBe(0);
  });
});
