import { DurableObject } from "cloudflare:workers";
import {
  acquire,
  type BreakerOutcome,
  type BreakerStatus,
  type BreakerStep,
  breakerStatusSchema,
  DEFAULT_BREAKER_POLICY,
  initialBreakerStatus,
  record,
} from "@darkroom/shared";
import { z } from "zod";

const outcomeSchema = z.discriminatedUnion("ok", [
  z.object({ ok: z.literal(true) }),
  z.object({ ok: z.literal(false), code: z.string().max(100), message: z.string().max(2000) }),
]);
const nowSchema = z.number().int().nonnegative();

/**
 * The circuit breaker around Workers AI, one for the deployment (`idFromName("workers-ai")`):
 * the state machine of packages/shared/src/ai-breaker.ts, kept in this object's SQLite
 * storage so that every isolate of every worker sees the same state, and one structured
 * log line per transition. The embedder asks it before each AI step and reports after;
 * the sweeper and GET /api/stats/ai read it. Callers pass their clock (`now`): the
 * object never decides time on its own, so tests can walk through an hour.
 */
export class AiBreaker extends DurableObject<Env> {
  private current: BreakerStatus | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      ctx.storage.sql.exec(
        "CREATE TABLE IF NOT EXISTS breaker (id INTEGER PRIMARY KEY CHECK (id = 1), status TEXT NOT NULL)",
      );
      const row = ctx.storage.sql
        .exec<{ status: string }>("SELECT status FROM breaker WHERE id = 1")
        .toArray()[0];
      if (row) {
        const parsed = breakerStatusSchema.safeParse(JSON.parse(row.status));
        if (parsed.success) this.current = parsed.data;
      }
    });
  }

  private state(now: number): BreakerStatus {
    this.current ??= initialBreakerStatus(now);
    return this.current;
  }

  private apply(step: BreakerStep): BreakerStatus {
    this.current = step.status;
    this.ctx.storage.sql.exec(
      "INSERT INTO breaker (id, status) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET status = excluded.status",
      JSON.stringify(step.status),
    );
    if (step.transition) {
      console.log(
        JSON.stringify({
          event: "ai_breaker_transition",
          from: step.transition.from,
          to: step.transition.to,
          reason: step.transition.reason,
          lastFailure: step.status.lastFailure,
          at: new Date(step.status.changedAt).toISOString(),
        }),
      );
    }
    return step.status;
  }

  async acquire(now: unknown) {
    const t = nowSchema.parse(now);
    const before = this.state(t);
    const step = acquire(before, t, DEFAULT_BREAKER_POLICY);
    if (step.status !== before) this.apply(step);
    return { decision: step.decision, status: step.status };
  }

  async record(outcome: unknown, now: unknown): Promise<BreakerStatus> {
    const t = nowSchema.parse(now);
    const o: BreakerOutcome = outcomeSchema.parse(outcome);
    const before = this.state(t);
    const step = record(before, o, t, DEFAULT_BREAKER_POLICY);
    return step.status === before ? before : this.apply(step);
  }

  async status(now: unknown): Promise<BreakerStatus> {
    return this.state(nowSchema.parse(now));
  }
}
