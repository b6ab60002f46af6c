// The pipeline table (pipeline.ts) walked: every status has one way forward and one
// sweeper rule, the stages chain from `pending` to `ready`, every failure restarts a
// stage, and every stage's message is one its consumer accepts.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type AssetStatus, assetStatuses, failureStages } from "../assets";
import { originalKey, parseObjectKey } from "../keys";
import { embedMessageSchema, r2NotificationSchema, redescribeMessageSchema } from "../messages";
import { DEFAULT_LIFECYCLE_TIMINGS } from "./leases";
import {
  afterCompletion,
  PIPELINE,
  type PipelineTimings,
  pipelineStage,
  REDESCRIBE,
  retryFrom,
  stageSpec,
} from "./pipeline";
import { sweeperRules } from "./sweep";

const timings: PipelineTimings = { ...DEFAULT_LIFECYCLE_TIMINGS, pendingIdleMs: 60_000 };

/** Statuses outside the walk: where it ends, and the two a person's request leads to. */
const TERMINAL: readonly AssetStatus[] = ["ready", "failed", "deleting"];

describe("the pipeline table", () => {
  it("gives every status on the way to ready exactly one way forward and one sweeper rule", () => {
    for (const status of assetStatuses.filter((s) => !TERMINAL.includes(s))) {
      const forward = PIPELINE.filter((s) => s.from === status || s.claimed === status);
      expect(
        forward.map((s) => s.name),
        status,
      ).toHaveLength(1);
      const rules = PIPELINE.flatMap(sweeperRules).filter((r) => r.status === status);
      expect(rules, status).toHaveLength(1);
      // Every rule waits a real time, read from the deployment's timings.
      expect(timings[rules[0]?.after ?? "pendingIdleMs"]).toBeGreaterThan(0);
    }
    for (const status of TERMINAL) {
      expect(PIPELINE.filter((s) => s.from === status || s.claimed === status)).toEqual([]);
      expect(PIPELINE.flatMap(sweeperRules).filter((r) => r.status === status)).toEqual([]);
    }
  });

  it("chains its stages from pending to ready, each starting where the one before ended", () => {
    expect(PIPELINE[0]?.from).toBe("pending");
    const walked: AssetStatus[] = [];
    let stage = PIPELINE[0] ? pipelineStage(PIPELINE[0].name) : null;
    while (stage) {
      walked.push(stage.from);
      const next = afterCompletion(stage.done);
      if (next) expect(next.from).toBe(stage.done);
      else expect(stage.done).toBe("ready");
      expect(next?.name ?? null).toBe(stage.next);
      stage = next;
    }
    // Every stage is on the walk, once.
    expect(walked).toEqual(PIPELINE.map((s) => s.from));
    expect(afterCompletion("ready")).toBeNull();
  });

  it("restarts every failure at the stage its error names", () => {
    for (const failed of failureStages) expect(retryFrom(failed).name).toBe(failed);
  });

  it("gives each claimed stage the deployment's lease", () => {
    expect(stageSpec("processing", { processingLeaseMs: 7_000, embedLeaseMs: 9_000 })).toEqual({
      name: "processing",
      from: "uploaded",
      claimed: "processing",
      done: "processed",
      leaseMs: 7_000,
    });
    expect(stageSpec("embedding", { processingLeaseMs: 7_000, embedLeaseMs: 9_000 }).leaseMs).toBe(
      9_000,
    );
  });

  it("builds each stage's message as its consumer parses it, and none for an original R2 lacks", async () => {
    const row = { id: crypto.randomUUID(), userId: crypto.randomUUID() };
    for (const name of ["upload", "processing"] as const) {
      expect(await pipelineStage(name).message(env, row)).toBeNull();
    }
    await env.BUCKET.put(originalKey(row.userId, row.id), new Uint8Array(3));
    for (const name of ["upload", "processing"] as const) {
      const note = r2NotificationSchema.parse(await pipelineStage(name).message(env, row));
      expect(parseObjectKey(note.object.key)).toEqual({
        uid: row.userId,
        assetId: row.id,
        kind: "original",
      });
      expect(note.object.size).toBe(3);
    }
    expect(embedMessageSchema.parse(await pipelineStage("embedding").message(env, row))).toEqual({
      assetId: row.id,
      uid: row.userId,
    });
    expect(redescribeMessageSchema.parse(REDESCRIBE.message(row))).toEqual({
      assetId: row.id,
      uid: row.userId,
      redescribe: true,
    });
  });
});
