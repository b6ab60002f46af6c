import { and, eq, isNull, sql } from "drizzle-orm";
import type { AssetStatus, FailureStage } from "../assets";
import { assets } from "../db/schema";
import { backoffSeconds } from "./backoff.js";
import { ClaimHeld } from "./claim-held";
import { PermanentFailure } from "./failures";
import { outcome, type StageResult } from "./outcomes";
import { UserMoving } from "./user-moving";
import { type AssetSet, type Lifecycle, noLiveClaim, transition, writeAsset } from "./write";

/**
 * A claimed stage of the pipeline as the claim machinery sees it: its row of the pipeline
 * table with this deployment's lease (`stageSpec`, pipeline.ts).
 */
export type StageSpec = {
  /** Its name in failures and logs. */
  readonly name: Exclude<FailureStage, "upload">;
  /** The status it claims from, and that a transient failure hands the asset back to. */
  readonly from: AssetStatus;
  /** The status while a claim is held. */
  readonly claimed: AssetStatus;
  /** The status it completes to. */
  readonly done: AssetStatus;
  /** A claim older than this is presumed dead and taken over. */
  readonly leaseMs: number;
};

/**
 * A held claim: every write of the stage applies only while it holds. `token` is the
 * claim's identity (random, written by the claim); `claimedAt` only dates it for the lease.
 */
export type Claim = {
  readonly lc: Lifecycle;
  readonly spec: StageSpec;
  readonly assetId: string;
  readonly token: string;
  readonly claimedAt: number;
};

type ClaimedRow = {
  id: string;
  status: AssetStatus;
  claimedAt: number | null;
  claimToken: string | null;
};

/** What every write that ends a claim sets: no claim. */
export const UNCLAIMED = { claimedAt: null, claimToken: null } as const;

/** Seconds until a claim made at `claimedAt` runs out; at least one. */
function heldFor(spec: StageSpec, claimedAt: number, now: number): number {
  return Math.max(1, Math.ceil((claimedAt + spec.leaseMs - now) / 1000));
}

/**
 * Claims `row` for this delivery: `from → claimed` with a fresh claim token, or a
 * take-over of a claim older than the lease (conditional on the token seen, so exactly one
 * taker wins however close in time they run). Both bump `version` and publish. Throws
 * `ClaimHeld` while another consumer's claim is live. Returns null when the row is in
 * neither status (the caller decides what that means), or the outcome when another
 * delivery won the race to claim.
 */
export async function claimStage(
  lc: Lifecycle,
  spec: StageSpec,
  row: ClaimedRow,
  now = lc.now(),
): Promise<Claim | StageResult | null> {
  const token = crypto.randomUUID();
  const claimSet = (status?: AssetStatus): AssetSet => ({
    ...(status ? { status, error: null } : {}),
    claimedAt: now,
    claimToken: token,
    attempts: sql`${assets.attempts} + 1`,
  });
  let won: unknown;
  if (row.status === spec.from) {
    won = await writeAsset(lc, row.id, eq(assets.status, spec.from), claimSet(spec.claimed), now);
  } else if (row.status === spec.claimed) {
    if (row.claimedAt !== null && row.claimedAt > now - spec.leaseMs) {
      throw new ClaimHeld(heldFor(spec, row.claimedAt, now));
    }
    won = await writeAsset(
      lc,
      row.id,
      and(
        eq(assets.status, spec.claimed),
        // A row claimed before claims had tokens has none: the first taker writes one.
        row.claimToken === null ? isNull(assets.claimToken) : eq(assets.claimToken, row.claimToken),
      ),
      claimSet(),
      now,
    );
  } else {
    return null;
  }
  if (won) return { lc, spec, assetId: row.id, token, claimedAt: now };
  // Another delivery changed the row between our read and our claim. While its claim is
  // live, retry when it would run out (the retry finds the asset done, or takes over).
  const [fresh] = await lc.store.db
    .select({ status: assets.status, claimedAt: assets.claimedAt })
    .from(assets)
    .where(eq(assets.id, row.id));
  if (fresh?.status === spec.claimed && fresh.claimedAt !== null) {
    throw new ClaimHeld(heldFor(spec, fresh.claimedAt, now));
  }
  return outcome(row.id, "claim-lost");
}

/** The row is still ours: in the claimed status with our claim's token. */
function ours(claim: Claim) {
  return and(eq(assets.status, claim.spec.claimed), eq(assets.claimToken, claim.token));
}

/** What a stage's work hands back to complete the asset. */
export type Completion = {
  /** Columns the stage sets along with `done`. */
  set: AssetSet;
  /** Removes what the stage wrote outside the row, when the asset was deleted meanwhile. */
  cleanup: () => Promise<void>;
};

/**
 * Runs the stage's work under `claim`: completes the asset (`claimed → done`) only while
 * the claim holds; a `PermanentFailure` fails it (also only while the claim holds); any
 * other error releases the claim (back to `from`, so the retry claims at once) and is
 * rethrown for the queue loop to retry.
 */
export async function runClaimed(
  claim: Claim,
  work: () => Promise<Completion>,
): Promise<StageResult> {
  try {
    const done = await work();
    const row = await writeAsset(claim.lc, claim.assetId, ours(claim), {
      ...done.set,
      status: claim.spec.done,
      ...UNCLAIMED,
      error: null,
    });
    if (row) return outcome(claim.assetId, "completed");
    return await claimGone(claim, done.cleanup);
  } catch (err) {
    if (err instanceof PermanentFailure) return fail(claim, err);
    await release(claim).catch(() => undefined);
    throw err;
  }
}

/** Fails the asset with `err`, only while our claim holds. */
async function fail(claim: Claim, err: PermanentFailure): Promise<StageResult> {
  const row = await writeAsset(claim.lc, claim.assetId, ours(claim), {
    status: "failed",
    ...UNCLAIMED,
    error: err.toColumn(),
  });
  if (!row) return claimGone(claim, async () => undefined);
  return { assetId: claim.assetId, outcome: "failed", code: err.code };
}

/** Hands the asset back to `from` after a transient failure, only while our claim holds. */
export function release(claim: Claim): Promise<unknown> {
  return writeAsset(claim.lc, claim.assetId, ours(claim), {
    status: claim.spec.from,
    ...UNCLAIMED,
  });
}

/** Our claim no longer holds: what became of the asset (`settledElsewhere`). */
function claimGone(claim: Claim, cleanup: () => Promise<void>): Promise<StageResult> {
  return settledElsewhere(claim.lc, claim.assetId, cleanup);
}

/**
 * A conditional write of a stage (or a touch) found its condition gone. Deleted meanwhile
 * (row gone, or a `deleting` tombstone): what the work wrote outside the row must not
 * outlive the asset, and the outcome says so. Otherwise a consumer that took over (or a
 * dead-letter handler) moved it on, and its state stands.
 */
export async function settledElsewhere(
  lc: Lifecycle,
  assetId: string,
  cleanup: () => Promise<void>,
): Promise<StageResult> {
  const [now] = await lc.store.db
    .select({ status: assets.status })
    .from(assets)
    .where(eq(assets.id, assetId));
  // A user moved to another shard leaves no row here either: the retry finds it there.
  if (!now && !(await lc.store.stillHome())) throw new UserMoving(lc.store.uid);
  if (!now || now.status === "deleting") {
    await cleanup();
    return outcome(assetId, "deleted-meanwhile");
  }
  return outcome(assetId, "superseded");
}

/**
 * A message of the stage that exhausted its retries: the asset fails with `err`, unless
 * another delivery holds a live claim on it (see `noLiveClaim`).
 */
export async function failExhausted(
  lc: Lifecycle,
  spec: StageSpec,
  row: { id: string; status: AssetStatus },
  from: readonly AssetStatus[],
  err: PermanentFailure,
): Promise<StageResult> {
  const t = await transition(
    lc,
    row.id,
    from,
    "failed",
    { ...UNCLAIMED, error: err.toColumn() },
    noLiveClaim(spec.claimed, spec.leaseMs, lc.now()),
  );
  if (t) return { assetId: row.id, outcome: "failed", code: err.code };
  return outcome(row.id, row.status === spec.claimed ? "claim-live-or-settled" : "already-past");
}

/**
 * How long transient failures of a stage are re-driven before the asset fails, counted
 * from when it entered the stage: hours, so an outage of storage, D1 or the isolates heals
 * by itself (issue 21) while a photo that can never finish still fails within the day.
 */
export const REDRIVE_BUDGET_MS = 6 * 60 * 60_000;

/**
 * Queue deliveries of one message before it dead-letters: `max_retries` (5, every
 * consumer's wrangler.toml) plus the first. A re-drive's backoff continues from there.
 */
export const DELIVERIES_BEFORE_DEAD_LETTER = 6;

type DeadRow = typeof assets.$inferSelect;

/** When `row` entered `spec`'s stage: its first arrival there, kept across hand-backs. */
function enteredStageAt(spec: StageSpec, row: DeadRow): number {
  const at = spec.name === "processing" ? row.uploadedAt : row.processedAt;
  return at ?? row.statusAt ?? row.createdAt;
}

/**
 * A message of the stage that exhausted its queue retries. Its last error was transient
 * when the asset sits in a status a caught failure hands it back to (`transient`: the
 * stage's `from`, and for the processor `pending`): a released claim, not a crashed
 * consumer. Then, within `REDRIVE_BUDGET_MS` of entering the stage, the message is sent
 * again (`redrive`) after a backoff that continues the queue's (minutes, then hours, by
 * the one rule of backoff.js), and the row remembers when it is due (`retry_at`) so the
 * sweeper leaves it to that message. Otherwise — past the budget, or a claim left behind
 * by a consumer that died (a photo that kills its isolate) — the asset fails with `err`
 * as `failExhausted` decides.
 */
export async function deadLettered(
  lc: Lifecycle,
  spec: StageSpec,
  row: DeadRow,
  transient: readonly AssetStatus[],
  exhaustedFrom: readonly AssetStatus[],
  err: PermanentFailure,
  redrive: (delaySeconds: number) => Promise<unknown>,
  random: () => number = Math.random,
): Promise<StageResult> {
  const now = lc.now();
  if (transient.includes(row.status) && now - enteredStageAt(spec, row) < REDRIVE_BUDGET_MS) {
    const delaySeconds = backoffSeconds(DELIVERIES_BEFORE_DEAD_LETTER + row.sweeps, random);
    const marked = await writeAsset(
      lc,
      row.id,
      and(eq(assets.status, row.status), eq(assets.version, row.version)),
      { retryAt: now + delaySeconds * 1000, sweeps: sql`${assets.sweeps} + 1`, sweptAt: now },
      now,
    );
    if (!marked) return outcome(row.id, "already-past");
    await redrive(delaySeconds);
    return outcome(row.id, "redriven");
  }
  return failExhausted(lc, spec, row, exhaustedFrom, err);
}
