// The upload scheduler: which PUT runs when. Pure TypeScript with the clock, randomness
// and transport injected, so its rules are unit-tested without a browser. What an answer
// means and how long to wait is the shared client policy (@darkroom/shared/client:
// classifyPutAnswer, nextStep); this file adds what only a scheduler of many PUTs knows:
// - adaptive concurrency: start at `initial`, halve on a transient error or 429, grow by
//   one after `concurrency` successes in a row (AIMD, like TCP: back off fast, probe slowly);
// - 429 pauses every upload (the limit is per user) for Retry-After;
// - an expired (or about to expire) URL is renewed by re-POSTing the file, which gives a
//   still-pending asset a fresh URL for the same assetId;
// - a 412 (the object is already stored) is verified with the API before it counts.
import {
  type Answer,
  backoffMs,
  classifyPutAnswer,
  DEFAULT_RETRY_POLICY,
  freshTries,
  nextStep,
  type RetryPolicy,
  type Tries,
  type Verdict,
} from "@darkroom/shared/client";

export type Ticket = {
  url: string;
  method: "PUT";
  headers: Record<string, string>;
  expiresAt: string;
};

/** A fresh URL, or: the asset is not pending any more (stored), or the POST's verdict. */
export type RenewOutcome =
  | { kind: "ticket"; ticket: Ticket }
  | { kind: "stored" }
  | { kind: "error"; verdict: Verdict };

export type JobState =
  | { phase: "queued" }
  | { phase: "uploading"; loaded: number }
  | { phase: "waiting"; until: number; reason: string }
  | { phase: "done" }
  | { phase: "failed"; reason: string };

export type UploadJob = {
  id: string;
  assetId: string;
  size: number;
  ticket: Ticket;
  /** PUTs started, shown to the user. */
  attempts: number;
  /** Budgets spent under the shared retry policy. */
  tries: Tries;
  /** The next run gets a fresh URL first (the last one expired or was refused). */
  needsUrl: boolean;
  state: JobState;
};

export interface UploadTransport {
  /** One PUT; `status: 0` when no readable answer came (network, or CORS on an error). */
  put(job: UploadJob, onProgress: (loaded: number) => void): Promise<Answer>;
  /** POST the file again for a fresh URL. */
  renew(job: UploadJob): Promise<RenewOutcome>;
  /** After a 412: GET the asset, classified by classifyUploadedAsset. */
  verify(job: UploadJob): Promise<Verdict>;
}

export interface Clock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export type SchedulerOptions = {
  transport: UploadTransport;
  clock: Clock;
  random: () => number;
  policy?: RetryPolicy;
  initialConcurrency?: number;
  minConcurrency?: number;
  maxConcurrency?: number;
  /** Renew a URL that expires within this margin instead of PUTting to it. */
  expiryMarginMs?: number;
  onChange?: (job: UploadJob) => void;
};

export type SchedulerSummary = {
  active: number;
  queued: number;
  done: number;
  failed: number;
  loaded: number;
};

export class UploadScheduler {
  concurrency: number;
  private readonly o: Required<Omit<SchedulerOptions, "onChange">> &
    Pick<SchedulerOptions, "onChange">;
  private readonly jobs = new Map<string, UploadJob>();
  private readonly ready: UploadJob[] = [];
  private active = 0;
  private streak = 0;
  private pausedUntil = 0;
  private pauseTimer: unknown = null;
  // Kept as the states change, so a summary costs nothing with thousands of jobs.
  private doneCount = 0;
  private failedCount = 0;
  private loadedBytes = 0;

  constructor(options: SchedulerOptions) {
    this.o = {
      policy: DEFAULT_RETRY_POLICY,
      initialConcurrency: 4,
      minConcurrency: 1,
      maxConcurrency: 12,
      expiryMarginMs: 30_000,
      ...options,
    };
    this.concurrency = this.o.initialConcurrency;
  }

  add(job: Pick<UploadJob, "id" | "assetId" | "size" | "ticket">): void {
    const full: UploadJob = {
      ...job,
      attempts: 0,
      tries: freshTries(),
      needsUrl: false,
      state: { phase: "queued" },
    };
    this.jobs.set(full.id, full);
    this.ready.push(full);
    this.o.onChange?.(full);
    this.pump();
  }

  /** A failed job starts over (the user pressed Retry). */
  retry(id: string): void {
    const job = this.jobs.get(id);
    if (job?.state.phase !== "failed") return;
    job.attempts = 0;
    job.tries = freshTries();
    this.requeue(job, false);
  }

  get(id: string): UploadJob | undefined {
    return this.jobs.get(id);
  }

  summary(): SchedulerSummary {
    return {
      active: this.active,
      queued: this.jobs.size - this.doneCount - this.failedCount - this.active,
      done: this.doneCount,
      failed: this.failedCount,
      loaded: this.loadedBytes,
    };
  }

  /** Backoff before attempt n+1 after n failed ones (the shared policy's). */
  backoffMs(attempts: number): number {
    return backoffMs(attempts, this.o.policy, this.o.random);
  }

  private pump(): void {
    const now = this.o.clock.now();
    if (now < this.pausedUntil) {
      if (this.pauseTimer === null) {
        this.pauseTimer = this.o.clock.setTimer(() => {
          this.pauseTimer = null;
          this.pump();
        }, this.pausedUntil - now);
      }
      return;
    }
    while (this.active < this.concurrency) {
      const job = this.ready.shift();
      if (!job) return;
      this.active += 1;
      void this.run(job).finally(() => {
        this.active -= 1;
        this.pump();
      });
    }
  }

  private async run(job: UploadJob): Promise<void> {
    const expiresAt = Date.parse(job.ticket.expiresAt);
    const expiring =
      Number.isFinite(expiresAt) && expiresAt - this.o.clock.now() < this.o.expiryMarginMs;
    if (job.needsUrl) {
      await this.renew(job);
      return;
    }
    if (expiring) {
      this.step(job, {
        kind: "renew",
        reason: "expired",
        code: "url_expired",
        message: "the upload URL expired",
      });
      return;
    }
    job.attempts += 1;
    this.set(job, { phase: "uploading", loaded: 0 });
    let answer: Answer;
    try {
      answer = await this.o.transport.put(job, (loaded) => {
        if (job.state.phase === "uploading") this.set(job, { phase: "uploading", loaded });
      });
    } catch (err) {
      answer = { status: 0, networkError: err instanceof Error ? err.message : String(err) };
    }
    this.step(job, classifyPutAnswer(answer, this.o.clock.now()));
  }

  /** One verdict, one step of the shared policy. */
  private step(job: UploadJob, verdict: Verdict): void {
    const step = nextStep(verdict, job.tries, { policy: this.o.policy, random: this.o.random });
    switch (step.action) {
      case "done":
        this.succeed(job);
        return;
      case "fail":
        this.fail(job, step.reason);
        return;
      case "verify":
        void this.whileActive(() => this.verify(job));
        return;
      case "renew":
        // Not this file's fault: the attempt is not counted against it.
        if (job.state.phase === "uploading") job.attempts -= 1;
        job.needsUrl = true;
        void this.whileActive(() => this.renew(job));
        return;
      case "pause":
        // 429 says nothing about this file: the attempt is not counted against it.
        if (job.state.phase === "uploading") job.attempts -= 1;
        this.shrink();
        this.pausedUntil = Math.max(this.pausedUntil, this.o.clock.now() + step.waitMs);
        this.set(job, { phase: "waiting", until: this.pausedUntil, reason: step.reason });
        this.ready.unshift(job);
        return;
      case "wait":
        if (verdict.kind === "retry" && verdict.reason !== "pending") this.shrink();
        this.later(job, step.waitMs, step.reason);
        return;
    }
  }

  /** Counted as active while it runs, so concurrency bounds the API calls too. */
  private async whileActive(f: () => Promise<void>): Promise<void> {
    this.active += 1;
    try {
      await f();
    } finally {
      this.active -= 1;
      this.pump();
    }
  }

  private async verify(job: UploadJob): Promise<void> {
    this.set(job, { phase: "waiting", until: this.o.clock.now(), reason: "checking the upload" });
    let verdict: Verdict;
    try {
      verdict = await this.o.transport.verify(job);
    } catch (err) {
      verdict = classifyPutAnswer({ status: 0, networkError: String(err) });
    }
    // Not there yet, or the check failed in transit: look again later, not PUT again.
    if (verdict.kind === "retry") {
      const step = nextStep(verdict, job.tries, { policy: this.o.policy, random: this.o.random });
      if (step.action === "fail") this.fail(job, step.reason);
      else if (step.action === "wait" || step.action === "pause") {
        const until = this.o.clock.now() + step.waitMs;
        this.set(job, { phase: "waiting", until, reason: `checking again: ${step.reason}` });
        this.o.clock.setTimer(() => void this.whileActive(() => this.verify(job)), step.waitMs);
      }
      return;
    }
    this.step(job, verdict);
  }

  private async renew(job: UploadJob): Promise<void> {
    this.set(job, { phase: "waiting", until: this.o.clock.now(), reason: "renewing the URL" });
    let r: RenewOutcome;
    try {
      r = await this.o.transport.renew(job);
    } catch (err) {
      r = { kind: "error", verdict: classifyPutAnswer({ status: 0, networkError: String(err) }) };
    }
    if (r.kind === "ticket") {
      job.ticket = r.ticket;
      job.needsUrl = false;
      this.requeue(job, true);
    } else if (r.kind === "stored") {
      // The re-POST says the asset holds its original: ours landed after all.
      job.needsUrl = false;
      this.succeed(job);
    } else this.step(job, r.verdict);
  }

  private later(job: UploadJob, ms: number, reason: string): void {
    const until = this.o.clock.now() + ms;
    this.set(job, { phase: "waiting", until, reason: `retrying: ${reason}` });
    this.o.clock.setTimer(() => this.requeue(job, true), ms);
  }

  private requeue(job: UploadJob, front: boolean): void {
    this.set(job, { phase: "queued" });
    if (front) this.ready.unshift(job);
    else this.ready.push(job);
    this.pump();
  }

  private succeed(job: UploadJob): void {
    this.set(job, { phase: "done" });
    this.streak += 1;
    if (this.streak >= this.concurrency && this.concurrency < this.o.maxConcurrency) {
      this.concurrency += 1;
      this.streak = 0;
    }
  }

  private fail(job: UploadJob, reason: string): void {
    this.set(job, { phase: "failed", reason });
  }

  private shrink(): void {
    this.streak = 0;
    this.concurrency = Math.max(this.o.minConcurrency, Math.floor(this.concurrency / 2));
  }

  private set(job: UploadJob, state: JobState): void {
    this.count(job, -1);
    job.state = state;
    this.count(job, 1);
    this.o.onChange?.(job);
  }

  private count(job: UploadJob, sign: 1 | -1): void {
    const s = job.state;
    if (s.phase === "done") {
      this.doneCount += sign;
      this.loadedBytes += sign * job.size;
    } else if (s.phase === "failed") this.failedCount += sign;
    else if (s.phase === "uploading") this.loadedBytes += sign * s.loaded;
  }
}
