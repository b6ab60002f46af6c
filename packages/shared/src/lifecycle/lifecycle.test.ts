// Runs in workerd with a real D1 and the api's real UserHub, inside the processor's test
// project (packages/shared has no worker of its own; see workers/processor/vitest.config.ts).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { hubEventsOf } from "../../../../test/workerd/queue-helpers";
import { seedUser } from "../../../../test/workerd/seed";
import { dbOf, everyShard } from "../../../../test/workerd/shards";
import { ClaimHeld } from "./claim-held";
import { PermanentFailure } from "./failures";
import { type Claim, claimStage, failExhausted, runClaimed, type StageSpec } from "./stage";
import { storeFor } from "./store";
import { lifecycleFor, transition, writeAsset } from "./write";

const LEASE_MS = 60_000;
const spec: StageSpec = {
  name: "processing",
  from: "uploaded",
  claimed: "processing",
  done: "processed",
  leaseMs: LEASE_MS,
};

type Row = {
  status: string;
  version: number;
  claimed_at: number | null;
  claim_token: string | null;
  attempts: number;
};

/** A fixed clock: no test here depends on time passing between two calls. */
const NOW = 1_800_000_000_000;

async function seed(status: string, claimedAt: number | null = null, version = 3) {
  const { uid, batchId } = await seedUser();
  const id = crypto.randomUUID();
  const now = NOW;
  // A seeded claim has a token of its own, as every claim does.
  const token = claimedAt === null ? null : crypto.randomUUID();
  await (await dbOf(uid))
    .prepare(
      `INSERT INTO assets (id, user_id, batch_id, name, size, type, sha256, status, version,
       claimed_at, claim_token, created_at, updated_at)
     VALUES (?, ?, ?, 'a.jpg', 10, 'image/jpeg', ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(
      id,
      uid,
      batchId,
      id.replaceAll("-", "").padEnd(64, "0"),
      status,
      version,
      claimedAt,
      token,
      now,
      now,
    )
    .run();
  const lc = await lifecycleFor(env, uid);
  const read = () =>
    everyShard
      .prepare("SELECT status, version, claimed_at, claim_token, attempts FROM assets WHERE id = ?")
      .bind(id)
      .first<Row>();
  const events = async () =>
    (await hubEventsOf(env.USER_HUB, uid)).map((e) => [e.status, e.version, e.error?.code]);
  return { uid, id, lc, read, events };
}

type Seeded = Awaited<ReturnType<typeof seed>>;

/** The row as a stage reads it before claiming. */
async function seen(a: Seeded) {
  const row = await a.read();
  return {
    id: a.id,
    status: row?.status === "uploaded" ? ("uploaded" as const) : ("processing" as const),
    claimedAt: row?.claimed_at ?? null,
    claimToken: row?.claim_token ?? null,
  };
}

async function claimed(a: Seeded, now = NOW): Promise<Claim> {
  const c = await claimStage(a.lc, spec, await seen(a), now);
  if (!c || "outcome" in c) throw new Error("expected a claim");
  return c;
}

/**
 * Another consumer takes the claim over in the very millisecond of ours: the same
 * `claimed_at`, a claim of its own. Only the token tells the two apart.
 */
async function takenOverInTheSameMillisecond(a: Seeded, c: Claim): Promise<string> {
  const theirs = crypto.randomUUID();
  await everyShard
    .prepare("UPDATE assets SET claimed_at = ?, claim_token = ? WHERE id = ?")
    .bind(c.claimedAt, theirs, a.id)
    .run();
  return theirs;
}

const noCleanup = async () => {
  throw new Error("cleanup must not run");
};

describe("every asset write", () => {
  it("bumps version by one and publishes exactly one event, built from the row it wrote", async () => {
    const a = await seed("uploaded");
    expect(await transition(a.lc, a.id, "uploaded", "processing")).toMatchObject({ version: 4 });
    expect(await writeAsset(a.lc, a.id, undefined, { name: "b.jpg" })).toMatchObject({
      version: 5,
    });
    expect(await a.events()).toEqual([
      ["processing", 4, undefined],
      ["processing", 5, undefined],
    ]);
  });

  it("writes nothing and publishes nothing when its condition no longer holds", async () => {
    const a = await seed("ready");
    expect(await transition(a.lc, a.id, "uploaded", "processing")).toBeNull();
    expect(await a.read()).toMatchObject({ status: "ready", version: 3 });
    expect(await a.events()).toEqual([]);
  });

  it("reaches only its own user's rows through storeFor", async () => {
    const a = await seed("uploaded");
    const otherUid = crypto.randomUUID();
    const other = { ...a.lc, store: await storeFor(env, otherUid) };
    expect(other.store.uid).toBe(otherUid);
    expect(await transition(other, a.id, "uploaded", "failed")).toBeNull();
    expect(await a.read()).toMatchObject({ status: "uploaded", version: 3 });
  });
});

describe("claiming a stage", () => {
  it("claims from the stage's from-status with a claim time, a token, one attempt, a version and an event", async () => {
    const a = await seed("uploaded");
    const c = await claimed(a);
    expect(await a.read()).toMatchObject({
      status: "processing",
      version: 4,
      claimed_at: NOW,
      claim_token: c.token,
      attempts: 1,
    });
    expect(await a.events()).toEqual([["processing", 4, undefined]]);
  });

  it("throws ClaimHeld with the rest of the lease while another claim is live, touching nothing", async () => {
    const a = await seed("processing", NOW - 20_000);
    const err = await claimStage(a.lc, spec, await seen(a), NOW).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClaimHeld);
    expect(err instanceof ClaimHeld && err.delaySeconds).toBe(40);
    expect(await a.read()).toMatchObject({ version: 3 });
    expect(await a.events()).toEqual([]);
  });

  it.each([
    ["older than the lease", NOW - LEASE_MS - 1000],
    ["released (no claim time)", null],
  ])("takes over a claim %s: a new claim time and token, a version and an event", async (_, at) => {
    const a = await seed("processing", at);
    const before = await a.read();
    const c = await claimed(a);
    expect(c.token).not.toBe(before?.claim_token);
    expect(await a.read()).toMatchObject({
      status: "processing",
      version: 4,
      claimed_at: NOW,
      claim_token: c.token,
      attempts: 1,
    });
    expect(await a.events()).toEqual([["processing", 4, undefined]]);
  });

  it("lets one of two racing take-overs win; the loser retries when the winner's lease runs out", async () => {
    const a = await seed("processing", NOW - LEASE_MS - 1000);
    const row = await seen(a);
    // Both in the same millisecond: the token seen decides, not the time.
    const first = await claimStage(a.lc, spec, row, NOW);
    const second = await claimStage(a.lc, spec, row, NOW).catch((e: unknown) => e);
    expect(first).toMatchObject({ assetId: a.id });
    expect(second).toBeInstanceOf(ClaimHeld);
    expect(second instanceof ClaimHeld && second.delaySeconds).toBe(LEASE_MS / 1000);
    expect(await a.read()).toMatchObject({ version: 4, attempts: 1 });
  });

  it("leaves a row in neither status to its caller", async () => {
    const a = await seed("ready");
    const row = { id: a.id, status: "ready" as const, claimedAt: null, claimToken: null };
    expect(await claimStage(a.lc, spec, row, NOW)).toBeNull();
  });
});

describe("running a claimed stage", () => {
  it("completes to the done status while the claim holds, with the stage's columns", async () => {
    const a = await seed("uploaded");
    const c = await claimed(a);
    const result = await runClaimed(c, async () => ({
      set: { width: 7 },
      cleanup: noCleanup,
    }));
    expect(result).toEqual({ assetId: a.id, outcome: "completed" });
    expect(await a.read()).toMatchObject({
      status: "processed",
      version: 5,
      claimed_at: null,
      claim_token: null,
    });
    expect(await a.events()).toEqual([
      ["processing", 4, undefined],
      ["processed", 5, undefined],
    ]);
  });

  it("cannot complete once another consumer took the claim over: superseded, their state stands", async () => {
    const a = await seed("uploaded");
    const c = await claimed(a);
    let theirs = "";
    const result = await runClaimed(c, async () => {
      // Our lease ran out mid-work and another delivery took over.
      theirs = await takenOverInTheSameMillisecond(a, c);
      return { set: {}, cleanup: noCleanup };
    });
    expect(result).toEqual({ assetId: a.id, outcome: "superseded" });
    expect(await a.read()).toMatchObject({ status: "processing", claim_token: theirs });
  });

  it.each([
    ["set to deleting", "UPDATE assets SET status = 'deleting' WHERE id = ?"],
    ["deleted", "DELETE FROM assets WHERE id = ?"],
  ])("cleans up what it wrote when the asset was %s meanwhile", async (_, sql) => {
    const a = await seed("uploaded");
    const c = await claimed(a);
    let cleaned = 0;
    const result = await runClaimed(c, async () => {
      await everyShard.prepare(sql).bind(a.id).run();
      return {
        set: {},
        cleanup: async () => {
          cleaned += 1;
        },
      };
    });
    expect(result).toEqual({ assetId: a.id, outcome: "deleted-meanwhile" });
    expect(cleaned).toBe(1);
  });

  it("fails the asset on a PermanentFailure, with stage, code and message, while the claim holds", async () => {
    const a = await seed("uploaded");
    const c = await claimed(a);
    const result = await runClaimed(c, async () => {
      throw new PermanentFailure("processing", "corrupt", "Broken");
    });
    expect(result).toEqual({ assetId: a.id, outcome: "failed", code: "corrupt" });
    expect(await a.read()).toMatchObject({ status: "failed", version: 5, claimed_at: null });
    expect(await a.events()).toEqual([
      ["processing", 4, undefined],
      ["failed", 5, "corrupt"],
    ]);
  });

  it("does not fail an asset whose claim it lost", async () => {
    const a = await seed("uploaded");
    const c = await claimed(a);
    await takenOverInTheSameMillisecond(a, c);
    const result = await runClaimed(c, async () => {
      throw new PermanentFailure("processing", "corrupt", "Broken");
    });
    expect(result).toEqual({ assetId: a.id, outcome: "superseded" });
    expect(await a.read()).toMatchObject({ status: "processing", version: 4 });
  });

  it("releases the claim on a transient error, back to the from-status with an event, and rethrows", async () => {
    const a = await seed("uploaded");
    const c = await claimed(a);
    await expect(
      runClaimed(c, async () => {
        throw new Error("R2 503");
      }),
    ).rejects.toThrow("R2 503");
    expect(await a.read()).toMatchObject({ status: "uploaded", version: 5, claimed_at: null });
    expect(await a.events()).toEqual([
      ["processing", 4, undefined],
      ["uploaded", 5, undefined],
    ]);
  });

  it("releases nothing that is no longer its own", async () => {
    const a = await seed("uploaded");
    const c = await claimed(a);
    const theirs = await takenOverInTheSameMillisecond(a, c);
    await expect(
      runClaimed(c, async () => {
        throw new Error("R2 503");
      }),
    ).rejects.toThrow("R2 503");
    expect(await a.read()).toMatchObject({ status: "processing", claim_token: theirs });
  });
});

describe("a message that exhausted its retries", () => {
  const exhausted = new PermanentFailure("processing", "retries_exhausted", "Kept failing");

  it("leaves an asset alone while another delivery's claim is live", async () => {
    const a = await seed("processing", Date.now() - 1000);
    const r = await failExhausted(
      a.lc,
      spec,
      { id: a.id, status: "processing" },
      ["processing"],
      exhausted,
    );
    expect(r).toEqual({ assetId: a.id, outcome: "claim-live-or-settled" });
    expect(await a.events()).toEqual([]);
  });

  it("fails it once the claim is dead", async () => {
    const a = await seed("processing", Date.now() - LEASE_MS - 1000);
    const r = await failExhausted(
      a.lc,
      spec,
      { id: a.id, status: "processing" },
      ["processing"],
      exhausted,
    );
    expect(r).toEqual({ assetId: a.id, outcome: "failed", code: "retries_exhausted" });
    expect(await a.events()).toEqual([["failed", 4, "retries_exhausted"]]);
  });
});
