import { z } from "zod";

/**
 * The circuit breaker around Workers AI (docs/operations.md, "AI circuit breaker"): one
 * state for every isolate of every worker, kept by the `AiBreaker` Durable Object of the
 * api worker. This module is its pure state machine and the client the stages use; the
 * object only stores the state and logs the transitions.
 *
 * - closed: calls go through; a failure is remembered for `windowMs`. The
 *   `maxFailures`-th failure within the window opens the breaker.
 * - open: no call is made; photos take the no-AI path and are marked for a re-describe.
 *   After `openMs` the next caller becomes the probe (half-open).
 * - half-open: exactly one probe call is in flight; everyone else still skips. Its
 *   success closes the breaker, its failure opens it again. A probe that never reports
 *   (its isolate died) is replaced after `probeTimeoutMs`.
 */
export const breakerStates = ["closed", "open", "half-open"] as const;
export type BreakerState = (typeof breakerStates)[number];

export type BreakerPolicy = {
  maxFailures: number;
  windowMs: number;
  openMs: number;
  probeTimeoutMs: number;
};

/** "5 failures an hour" opens it; it probes again after 10 minutes. */
export const DEFAULT_BREAKER_POLICY: Readonly<BreakerPolicy> = Object.freeze({
  maxFailures: 5,
  windowMs: 60 * 60_000,
  openMs: 10 * 60_000,
  probeTimeoutMs: 5 * 60_000,
});

const failureSchema = z.object({ code: z.string(), message: z.string(), at: z.number() });
export type BreakerFailure = z.infer<typeof failureSchema>;

export const breakerStatusSchema = z.object({
  state: z.enum(breakerStates),
  /** Times of the failures still inside the window (closed), oldest first. */
  failures: z.array(z.number()),
  openedAt: z.number().nullable(),
  probeStartedAt: z.number().nullable(),
  lastFailure: failureSchema.nullable(),
  changedAt: z.number(),
});
export type BreakerStatus = z.infer<typeof breakerStatusSchema>;

export function initialBreakerStatus(now: number): BreakerStatus {
  return {
    state: "closed",
    failures: [],
    openedAt: null,
    probeStartedAt: null,
    lastFailure: null,
    changedAt: now,
  };
}

/** `call`: go ahead; `probe`: go ahead, you are the half-open probe; `skip`: no AI now. */
export type BreakerDecision = "call" | "probe" | "skip";

export type BreakerStep = { status: BreakerStatus; transition: BreakerTransition | null };
export type BreakerTransition = { from: BreakerState; to: BreakerState; reason: string };

function moved(
  before: BreakerStatus,
  after: BreakerStatus,
  reason: string,
  now: number,
): BreakerStep {
  if (before.state === after.state) return { status: after, transition: null };
  return {
    status: { ...after, changedAt: now },
    transition: { from: before.state, to: after.state, reason },
  };
}

/** May a caller use AI now? Moves open → half-open when the cool-down is over. */
export function acquire(
  s: BreakerStatus,
  now: number,
  policy: BreakerPolicy,
): BreakerStep & { decision: BreakerDecision } {
  if (s.state === "closed") return { status: s, transition: null, decision: "call" };
  const probeDue =
    s.state === "open"
      ? s.openedAt === null || now - s.openedAt >= policy.openMs
      : s.probeStartedAt === null || now - s.probeStartedAt >= policy.probeTimeoutMs;
  if (!probeDue) return { status: s, transition: null, decision: "skip" };
  const step = moved(
    s,
    { ...s, state: "half-open", probeStartedAt: now },
    s.state === "open" ? "cool-down over: one probe call" : "probe lost: another probe",
    now,
  );
  return { ...step, decision: "probe" };
}

/** What a caller saw: a success, or a failure that counts against the provider. */
export type BreakerOutcome = { ok: true } | { ok: false; code: string; message: string };

export function record(
  s: BreakerStatus,
  outcome: BreakerOutcome,
  now: number,
  policy: BreakerPolicy,
): BreakerStep {
  if (outcome.ok) {
    if (s.state === "closed") return { status: s, transition: null };
    // A success while half-open is the probe's (or a call that started before the
    // breaker opened): the provider answers again.
    return moved(
      s,
      { ...s, state: "closed", failures: [], openedAt: null, probeStartedAt: null },
      "probe succeeded",
      now,
    );
  }
  const lastFailure = { code: outcome.code, message: outcome.message.slice(0, 300), at: now };
  if (s.state !== "closed") {
    // Half-open: the probe failed. Open: a late report of a call made before it opened;
    // either way the cool-down starts again.
    return moved(
      s,
      { ...s, state: "open", openedAt: now, probeStartedAt: null, lastFailure },
      `probe failed (${outcome.code})`,
      now,
    );
  }
  const failures = [...s.failures.filter((t) => now - t < policy.windowMs), now].slice(
    -policy.maxFailures,
  );
  if (failures.length < policy.maxFailures) {
    return { status: { ...s, failures, lastFailure }, transition: null };
  }
  return moved(
    s,
    { ...s, state: "open", failures: [], openedAt: now, probeStartedAt: null, lastFailure },
    `${policy.maxFailures} failures within ${Math.round(policy.windowMs / 60_000)} min (last ${outcome.code})`,
    now,
  );
}

/** The RPC surface of the `AiBreaker` object. */
export interface AiBreakerRpc {
  acquire(now: number): Promise<unknown>;
  record(outcome: BreakerOutcome, now: number): Promise<unknown>;
  status(now: number): Promise<unknown>;
}

const decisionSchema = z.object({
  decision: z.enum(["call", "probe", "skip"]),
  status: breakerStatusSchema,
});

/** The binding, typed by the api (its own class) or not (a `script_name` binding). */
export type BreakerNamespace = {
  idFromName(name: string): DurableObjectId;
  get(id: DurableObjectId): unknown;
};

/** One breaker for the whole deployment: every worker asks the same object. */
export const AI_BREAKER_NAME = "workers-ai";

/**
 * The deployment's breaker from any worker. Its binding may point at another script
 * (`script_name`), so `wrangler types` cannot know the class: answers are parsed.
 */
export function aiBreaker(ns: BreakerNamespace) {
  const stub = ns.get(ns.idFromName(AI_BREAKER_NAME)) as unknown as AiBreakerRpc;
  return {
    async acquire(now = Date.now()): Promise<BreakerDecision> {
      return decisionSchema.parse(await stub.acquire(now)).decision;
    },
    async record(outcome: BreakerOutcome, now = Date.now()): Promise<BreakerStatus> {
      return breakerStatusSchema.parse(await stub.record(outcome, now));
    },
    async status(now = Date.now()): Promise<BreakerStatus> {
      return breakerStatusSchema.parse(await stub.status(now));
    },
  };
}
export type AiBreakerClient = ReturnType<typeof aiBreaker>;
