import { describe, expect, it } from "vitest";
import {
  type PutOutcome,
  type RenewOutcome,
  type Ticket,
  type UploadJob,
  UploadScheduler,
} from "../src/scheduler";
import { FakeClock, flush } from "./fake-clock";

type Pending = { job: UploadJob; resolve: (o: PutOutcome) => void };

function setup(
  opts: { initial?: number; max?: number; renew?: (j: UploadJob) => RenewOutcome } = {},
) {
  const clock = new FakeClock();
  const pending: Pending[] = [];
  const puts: string[] = [];
  const renewals: string[] = [];
  const s = new UploadScheduler({
    clock,
    random: () => 0.5,
    initialConcurrency: opts.initial ?? 4,
    maxConcurrency: opts.max ?? 8,
    transport: {
      put: (job) => {
        puts.push(`${job.id}@${job.ticket.url}`);
        return new Promise((resolve) => pending.push({ job, resolve }));
      },
      renew: async (job) => {
        renewals.push(job.id);
        return opts.renew?.(job) ?? { kind: "ticket", ticket: ticket(clock, `fresh-${job.id}`) };
      },
    },
  });
  const add = (n: number, exp = 15 * 60_000) => {
    for (let i = 0; i < n; i++) {
      s.add({ id: `f${i}`, assetId: `a${i}`, size: 100, ticket: ticket(clock, `u${i}`, exp) });
    }
  };
  /** Answers the oldest running PUT. */
  const answer = async (o: PutOutcome) => {
    const p = pending.shift();
    if (!p) throw new Error("no PUT running");
    p.resolve(o);
    await flush();
    return p.job;
  };
  return { s, clock, pending, puts, renewals, add, answer };
}

function ticket(clock: FakeClock, url: string, inMs = 15 * 60_000): Ticket {
  return { url, method: "PUT", headers: {}, expiresAt: new Date(clock.now() + inMs).toISOString() };
}

const http = (status: number, code = "", retryAfterMs: number | null = null): PutOutcome => ({
  kind: "http",
  status,
  code,
  message: "x",
  retryAfterMs,
});

describe("upload scheduler", () => {
  it("runs at most the initial concurrency of PUTs at once", async () => {
    const t = setup({ initial: 4 });
    t.add(10);
    await flush();
    expect(t.pending).toHaveLength(4);
    await t.answer({ kind: "ok" });
    expect(t.pending).toHaveLength(4);
    expect(t.s.summary().done).toBe(1);
  });

  it("grows by one after a run of successes as long as the concurrency", async () => {
    const t = setup({ initial: 2, max: 3 });
    t.add(20);
    await flush();
    await t.answer({ kind: "ok" });
    await t.answer({ kind: "ok" });
    expect(t.s.concurrency).toBe(3);
    for (let i = 0; i < 6; i++) await t.answer({ kind: "ok" });
    expect(t.s.concurrency).toBe(3);
  });

  it("halves the concurrency on a 5xx and retries that file after a jittered backoff", async () => {
    const t = setup({ initial: 4 });
    t.add(1);
    await flush();
    const job = await t.answer(http(503));
    expect(t.s.concurrency).toBe(2);
    expect(job.state.phase).toBe("waiting");
    // base 500 ms, first retry: 250 + 0.5 * 250 with random() = 0.5
    expect(t.s.backoffMs(1)).toBe(375);
    await t.clock.advance(374);
    expect(t.pending).toHaveLength(0);
    await t.clock.advance(1);
    expect(t.pending).toHaveLength(1);
    expect(job.attempts).toBe(2);
  });

  it("backs off exponentially up to the cap", () => {
    const t = setup();
    expect([1, 2, 3, 4].map((n) => t.s.backoffMs(n))).toEqual([375, 750, 1500, 3000]);
    expect(t.s.backoffMs(20)).toBe(22_500);
  });

  it("retries network errors and fails the file after maxAttempts", async () => {
    const t = setup();
    t.add(1);
    for (let i = 0; i < 6; i++) {
      await t.clock.advance(60_000);
      await t.answer({ kind: "network", message: "reset" });
    }
    const job = t.s.get("f0");
    expect(job?.state).toEqual({
      phase: "failed",
      reason: "gave up after 6 attempts: network error: reset",
    });
    expect(t.s.concurrency).toBe(1);
  });

  it("pauses every upload for Retry-After on a 429 and does not count it as an attempt", async () => {
    const t = setup({ initial: 2 });
    t.add(3);
    await flush();
    const job = await t.answer(http(429, "rate_limited", 5000));
    expect(job.attempts).toBe(0);
    expect(t.s.concurrency).toBe(1);
    // The other running PUT finishes, but nothing new starts during the pause.
    await t.answer({ kind: "ok" });
    await t.clock.advance(4999);
    expect(t.pending).toHaveLength(0);
    await t.clock.advance(1);
    // The refused file goes first when the pause ends.
    expect(t.pending[0]?.job.id).toBe("f0");
  });

  it("renews an expired URL and PUTs again to the fresh one", async () => {
    const t = setup({ initial: 1 });
    t.add(1);
    await flush();
    await t.answer(http(403, "url_expired"));
    expect(t.renewals).toEqual(["f0"]);
    expect(t.puts).toEqual(["f0@u0", "f0@fresh-f0"]);
    await t.answer({ kind: "ok" });
    expect(t.s.get("f0")?.state.phase).toBe("done");
  });

  it("renews a URL about to expire before PUTting to it", async () => {
    const t = setup({ initial: 1 });
    t.add(1, 10_000);
    await flush();
    expect(t.renewals).toEqual(["f0"]);
    expect(t.puts).toEqual(["f0@fresh-f0"]);
  });

  it("counts a renewal that answers duplicate as done", async () => {
    const t = setup({ initial: 1, renew: () => ({ kind: "duplicate" }) });
    t.add(1);
    await flush();
    await t.answer(http(403, "url_expired"));
    expect(t.s.get("f0")?.state.phase).toBe("done");
  });

  it("fails at once on a 4xx that no retry can fix, keeping the server's reason", async () => {
    const t = setup();
    t.add(1);
    await flush();
    await t.answer(http(400, "size_mismatch"));
    expect(t.s.get("f0")?.state).toEqual({ phase: "failed", reason: "size_mismatch: x" });
    expect(t.s.concurrency).toBe(4);
  });

  it("treats 412 already_uploaded as success: the bytes are there", async () => {
    const t = setup();
    t.add(1);
    await flush();
    await t.answer(http(412, "already_uploaded"));
    expect(t.s.get("f0")?.state.phase).toBe("done");
  });

  it("starts a failed file over when retried by hand", async () => {
    const t = setup();
    t.add(1);
    await flush();
    await t.answer(http(400, "type_mismatch"));
    t.s.retry("f0");
    await flush();
    expect(t.pending).toHaveLength(1);
    expect(t.s.get("f0")?.attempts).toBe(1);
  });
});
