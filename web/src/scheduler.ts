// The upload scheduler: which PUT runs when. Pure TypeScript with the clock, randomness
// and transport injected, so its rules are unit-tested without a browser:
// - adaptive concurrency: start at `initial`, halve on an error or 429, grow by one after
//   `concurrency` successes in a row (AIMD, like TCP: back off fast, probe slowly);
// - network errors and 5xx retry with exponential backoff and jitter, up to maxAttempts;
// - 429 pauses every upload (the limit is per user) for Retry-After;
// - an expired (or about to expire) URL is renewed by re-POSTing the file, which gives a
//   still-pending asset a fresh URL for the same assetId;
// - 4xx other than those are final: retrying the same bytes cannot succeed.

export type Ticket = {
  url: string;
  method: "PUT";
  headers: Record<string, string>;
  expiresAt: string;
};

export type PutOutcome =
  | { kind: "ok" }
  | { kind: "network"; message: string }
  | { kind: "http"; status: number; code: string; message: string; retryAfterMs: number | null };

export type RenewOutcome =
  | { kind: "ticket"; ticket: Ticket }
  | { kind: "duplicate" }
  | { kind: "error"; message: string; permanent: boolean; retryAfterMs: number | null };

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
  /** PUTs started, 429s excluded (they say nothing about this file). */
  attempts: number;
  renewals: number;
  state: JobState;
};

export interface UploadTransport {
  put(job: UploadJob, onProgress: (loaded: number) => void): Promise<PutOutcome>;
  renew(job: UploadJob): Promise<RenewOutcome>;
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
  initialConcurrency?: number;
  minConcurrency?: number;
  maxConcurrency?: number;
  maxAttempts?: number;
  maxRenewals?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** Renew a URL that expires within this margin instead of PUTting to it. */
  expiryMarginMs?: number;
  onChange?: (job: UploadJob) => void;
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

  constructor(options: SchedulerOptions) {
    this.o = {
      initialConcurrency: 4,
      minConcurrency: 1,
      maxConcurrency: 12,
      maxAttempts: 6,
      maxRenewals: 3,
      backoffBaseMs: 500,
      backoffCapMs: 30_000,
      expiryMarginMs: 30_000,
      ...options,
    };
    this.concurrency = this.o.initialConcurrency;
  }

  add(job: Omit<UploadJob, "attempts" | "renewals" | "state">): void {
    const full: UploadJob = { ...job, attempts: 0, renewals: 0, state: { phase: "queued" } };
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
    job.renewals = 0;
    this.requeue(job, false);
  }

  get(id: string): UploadJob | undefined {
    return this.jobs.get(id);
  }

  summary(): { active: number; queued: number; done: number; failed: number; loaded: number } {
    let done = 0;
    let failed = 0;
    let loaded = 0;
    for (const j of this.jobs.values()) {
      if (j.state.phase === "done") {
        done += 1;
        loaded += j.size;
      } else if (j.state.phase === "failed") failed += 1;
      else if (j.state.phase === "uploading") loaded += j.state.loaded;
    }
    return {
      active: this.active,
      queued: this.jobs.size - done - failed - this.active,
      done,
      failed,
      loaded,
    };
  }

  /** Backoff before attempt n+1 after n failed ones: exponential, capped, half jittered. */
  backoffMs(attempts: number): number {
    const exp = Math.min(
      this.o.backoffCapMs,
      this.o.backoffBaseMs * 2 ** Math.max(0, attempts - 1),
    );
    return exp / 2 + this.o.random() * (exp / 2);
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
    if (Number.isFinite(expiresAt) && expiresAt - this.o.clock.now() < this.o.expiryMarginMs) {
      await this.renew(job, "the upload URL expired");
      return;
    }
    job.attempts += 1;
    this.set(job, { phase: "uploading", loaded: 0 });
    let outcome: PutOutcome;
    try {
      outcome = await this.o.transport.put(job, (loaded) => {
        if (job.state.phase === "uploading") this.set(job, { phase: "uploading", loaded });
      });
    } catch (err) {
      outcome = { kind: "network", message: err instanceof Error ? err.message : String(err) };
    }
    this.settle(job, outcome);
  }

  private settle(job: UploadJob, outcome: PutOutcome): void {
    if (outcome.kind === "ok") {
      this.succeed(job);
      return;
    }
    if (outcome.kind === "network") {
      this.transient(job, `network error: ${outcome.message}`);
      return;
    }
    const { status, code, message } = outcome;
    // The bytes are already there (an earlier attempt landed but its answer was lost).
    if (status === 412 && code === "already_uploaded") {
      this.succeed(job);
      return;
    }
    if (status === 429) {
      job.attempts -= 1;
      this.shrink();
      const wait = outcome.retryAfterMs ?? this.backoffMs(1);
      this.pausedUntil = Math.max(this.pausedUntil, this.o.clock.now() + wait);
      this.set(job, { phase: "waiting", until: this.pausedUntil, reason: "rate limited (429)" });
      this.ready.unshift(job);
      return;
    }
    if (status === 403 && (code === "url_expired" || code === "invalid_signature")) {
      job.attempts -= 1;
      void this.renewAndRun(job, `${code}: ${message}`);
      return;
    }
    if (status >= 500 || status === 408) {
      this.transient(job, `HTTP ${status}: ${message}`);
      return;
    }
    this.fail(job, `${code || `HTTP ${status}`}: ${message}`);
  }

  private async renewAndRun(job: UploadJob, why: string): Promise<void> {
    // Counted as active while renewing, so concurrency bounds POSTs too.
    this.active += 1;
    try {
      await this.renew(job, why);
    } finally {
      this.active -= 1;
      this.pump();
    }
  }

  private async renew(job: UploadJob, why: string): Promise<void> {
    job.renewals += 1;
    if (job.renewals > this.o.maxRenewals) {
      this.fail(job, `${why}; no fresh URL after ${this.o.maxRenewals} tries`);
      return;
    }
    this.set(job, { phase: "waiting", until: this.o.clock.now(), reason: "renewing the URL" });
    let r: RenewOutcome;
    try {
      r = await this.o.transport.renew(job);
    } catch (err) {
      r = { kind: "error", message: String(err), permanent: false, retryAfterMs: null };
    }
    if (r.kind === "ticket") {
      job.ticket = r.ticket;
      this.requeue(job, true);
    } else if (r.kind === "duplicate") {
      this.succeed(job);
    } else if (r.permanent) {
      this.fail(job, r.message);
    } else {
      job.renewals -= 1;
      job.attempts += 1;
      if (job.attempts >= this.o.maxAttempts) {
        this.fail(job, `gave up after ${job.attempts} attempts: ${r.message}`);
        return;
      }
      const wait = r.retryAfterMs ?? this.backoffMs(job.attempts);
      this.later(job, wait, r.message);
    }
  }

  private transient(job: UploadJob, reason: string): void {
    this.shrink();
    if (job.attempts >= this.o.maxAttempts) {
      this.fail(job, `gave up after ${job.attempts} attempts: ${reason}`);
      return;
    }
    this.later(job, this.backoffMs(job.attempts), reason);
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
    job.state = state;
    this.o.onChange?.(job);
  }
}
