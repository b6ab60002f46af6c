import type { Answer, Verdict } from "@darkroom/shared/client";
import { describe, expect, it } from "vitest";
import {
  type RenewOutcome,
  type Ticket,
  type UploadJob,
  UploadScheduler,
} from "../src/upload/scheduler";
import { FakeClock, flush } from "./fake-clock";

type Pending = { job: UploadJob; resolve: (o: Answer) => void };

function setup(
  opts: {
    initial?: number;
    max?: number;
    renew?: (j: UploadJob) => RenewOutcome;
    verify?: (j: UploadJob) => Verdict;
  } = {},
) {
  const clock = new FakeClock();
  const pending: Pending[] = [];
  const puts: string[] = [];
  const renewals: string[] = [];
  const verifies: string[] = [];
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
        return (
          opts.renew?.(job) ?? {
            kind: "ticket",
            ticket: ticket(clock, `fresh-${renewals.length}-${job.id}`),
          }
        );
      },
      verify: async (job) => {
        verifies.push(job.id);
        return opts.verify?.(job) ?? { kind: "done" };
      },
    },
  });
  const add = (n: number, exp = 15 * 60_000) => {
    for (let i = 0; i < n; i++) {
      s.add({ id: `f${i}`, assetId: `a${i}`, size: 100, ticket: ticket(clock, `u${i}`, exp) });
    }
  };
  /** Answers the oldest running PUT. */
  const answer = async (o: Answer) => {
    const p = pending.shift();
    if (!p) throw new Error("no PUT running");
    p.resolve(o);
    await flush();
    return p.job;
  };
  return { s, clock, pending, puts, renewals, verifies, add, answer };
}

function ticket(clock: FakeClock, url: string, inMs = 15 * 60_000): Ticket {
  return { url, method: "PUT", headers: {}, expiresAt: new Date(clock.now() + inMs).toISOString() };
}

const ok: Answer = { status: 200 };
/** Our local route's JSON error. */
const http = (status: number, code = "", retryAfter: string | null = null): Answer => ({
  status,
  body: code ? JSON.stringify({ error: { code, message: "x" } }) : "",
  retryAfter,
});
/** R2's S3 XML error (https://developers.cloudflare.com/r2/api/error-codes/). */
const r2 = (status: number, code: string, message: string): Answer => ({
  status,
  body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n  <Code>${code}</Code>\n  <Message>${message}</Message>\n</Error>`,
});
const network: Answer = { status: 0, networkError: "reset" };

describe("upload scheduler", () => {
  it("runs at most the initial concurrency of PUTs at once", async () => {
    const t = setup({ initial: 4 });
    t.add(10);
    await flush();
    expect(t.pending).toHaveLength(4);
    await t.answer(ok);
    expect(t.pending).toHaveLength(4);
    expect(t.s.summary().done).toBe(1);
  });

  it("grows by one after a run of successes as long as the concurrency", async () => {
    const t = setup({ initial: 2, max: 3 });
    t.add(20);
    await flush();
    await t.answer(ok);
    await t.answer(ok);
    expect(t.s.concurrency).toBe(3);
    for (let i = 0; i < 6; i++) await t.answer(ok);
    expect(t.s.concurrency).toBe(3);
  });

  it("halves the concurrency on a 5xx and retries that file after a jittered backoff", async () => {
    const t = setup({ initial: 4 });
    t.add(1);
    await flush();
    const job = await t.answer(http(503));
    expect(t.s.concurrency).toBe(2);
    expect(job.state.phase).toBe("waiting");
    // base 500 ms, first retry: full jitter, 0.5 * 500 with random() = 0.5
    expect(t.s.backoffMs(1)).toBe(250);
    await t.clock.advance(249);
    expect(t.pending).toHaveLength(0);
    await t.clock.advance(1);
    expect(t.pending).toHaveLength(1);
    expect(job.attempts).toBe(2);
  });

  it("backs off exponentially up to the cap", () => {
    const t = setup();
    expect([1, 2, 3, 4].map((n) => t.s.backoffMs(n))).toEqual([250, 500, 1000, 2000]);
    expect(t.s.backoffMs(20)).toBe(15_000);
  });

  it("retries network errors and fails the file after maxAttempts", async () => {
    const t = setup();
    t.add(1);
    for (let i = 0; i < 6; i++) {
      await t.clock.advance(60_000);
      await t.answer(network);
    }
    const job = t.s.get("f0");
    expect(job?.state).toEqual({
      phase: "failed",
      reason: "gave up after 6 attempts: network_error: reset",
    });
    expect(t.s.concurrency).toBe(1);
  });

  it("pauses every upload for Retry-After on a 429 and does not count it as an attempt", async () => {
    const t = setup({ initial: 2 });
    t.add(3);
    await flush();
    const job = await t.answer(http(429, "rate_limited", "5"));
    expect(job.attempts).toBe(0);
    expect(t.s.concurrency).toBe(1);
    // The other running PUT finishes, but nothing new starts during the pause.
    await t.answer(ok);
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
    expect(t.puts).toEqual(["f0@u0", "f0@fresh-1-f0"]);
    await t.answer(ok);
    expect(t.s.get("f0")?.state.phase).toBe("done");
  });

  it("renews a URL about to expire before PUTting to it", async () => {
    const t = setup({ initial: 1 });
    t.add(1, 10_000);
    await flush();
    expect(t.renewals).toEqual(["f0"]);
    expect(t.puts).toEqual(["f0@fresh-1-f0"]);
  });

  it("counts a renewal that finds the asset stored as done", async () => {
    const t = setup({ initial: 1, renew: () => ({ kind: "stored" }) });
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

  it("verifies a 412 already_uploaded with the API before counting it done", async () => {
    const t = setup();
    t.add(1);
    await flush();
    await t.answer(http(412, "already_uploaded"));
    expect(t.verifies).toEqual(["f0"]);
    expect(t.s.get("f0")?.state.phase).toBe("done");
  });

  it("on R2's 412 PreconditionFailed, checks again while the asset is still pending, then counts it", async () => {
    let pending = 2;
    const t = setup({
      verify: () =>
        pending-- > 0
          ? {
              kind: "retry",
              reason: "pending",
              code: "not_yet_uploaded",
              message: "x",
              retryAfterMs: null,
            }
          : { kind: "done" },
    });
    t.add(1);
    await flush();
    await t.answer(
      r2(
        412,
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold",
      ),
    );
    expect(t.s.get("f0")?.state.phase).toBe("waiting");
    await t.clock.advance(60_000);
    expect(t.verifies).toEqual(["f0", "f0", "f0"]);
    expect(t.s.get("f0")?.state.phase).toBe("done");
    // Verified, never PUT again.
    expect(t.puts).toEqual(["f0@u0"]);
  });

  it("fails a 412 whose asset the API says is gone", async () => {
    const t = setup({
      verify: () => ({
        kind: "fail",
        code: "asset_gone",
        message: "The photo was deleted meanwhile",
      }),
    });
    t.add(1);
    await flush();
    await t.answer(r2(412, "PreconditionFailed", "x"));
    expect(t.s.get("f0")?.state).toEqual({
      phase: "failed",
      reason: "asset_gone: The photo was deleted meanwhile",
    });
  });

  it("renews the URL on R2's ExpiredRequest and S3's AccessDenied 'Request has expired'", async () => {
    const t = setup({ initial: 1 });
    t.add(1);
    await flush();
    await t.answer(r2(403, "ExpiredRequest", "Request has expired"));
    await t.answer(r2(403, "AccessDenied", "Request has expired"));
    await t.answer(ok);
    expect(t.puts).toEqual(["f0@u0", "f0@fresh-1-f0", "f0@fresh-2-f0"]);
    expect(t.s.get("f0")?.state.phase).toBe("done");
  });

  it("gives up after a bounded number of fresh URLs when R2 keeps refusing the signature", async () => {
    const t = setup({ initial: 1 });
    t.add(1);
    await flush();
    for (let i = 0; i < 4; i++) {
      await t.answer(
        r2(403, "SignatureDoesNotMatch", "The request signature we calculated does not match"),
      );
    }
    expect(t.renewals).toHaveLength(3);
    expect(t.pending).toHaveLength(0);
    expect(t.s.get("f0")?.state).toEqual({
      phase: "failed",
      reason:
        "SignatureDoesNotMatch: The request signature we calculated does not match; no usable URL after 3 fresh ones",
    });
  });

  it("retries an error answer hidden by CORS (status 0) with backoff, never endlessly", async () => {
    const t = setup({ initial: 1 });
    t.add(1);
    await flush();
    let sent = 0;
    while (t.pending.length > 0) {
      await t.answer(network);
      sent += 1;
      await t.clock.advance(60_000);
    }
    expect(sent).toBe(6);
    expect(t.s.get("f0")?.state.phase).toBe("failed");
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
