import type { ServerFrame } from "@darkroom/shared/events";
import { describe, expect, it } from "vitest";
import {
  initialProgress,
  type ProgressState,
  progressReducer,
  rates,
  type Stats,
  stageCounts,
} from "../src/progress";

const B = "11111111-1111-4111-8111-111111111111";
const A1 = "22222222-2222-4222-8222-222222222222";
const OTHER = "33333333-3333-4333-8333-333333333333";

const stats = (s: Partial<Stats>): Stats => ({
  total: 0,
  pending: 0,
  uploaded: 0,
  processing: 0,
  processed: 0,
  embedding: 0,
  ready: 0,
  failed: 0,
  ...s,
});

const asset = (seq: number, status: string, version: number, batchId: string | null = B) =>
  ({ type: "asset", seq, assetId: A1, batchId, status, version }) as ServerFrame;

const apply = (s: ProgressState, frames: ServerFrame[], now = 0) =>
  progressReducer(s, { type: "frames", frames, now });

describe("progress reducer", () => {
  it("keeps the highest version per asset whatever the arrival order", () => {
    let s = initialProgress(B);
    s = apply(s, [asset(3, "ready", 6), asset(2, "processing", 3)]);
    expect(s.assets.get(A1)?.status).toBe("ready");
    expect(s.lastSeq).toBe(3);
  });

  it("ignores another batch's assets unless this batch tracks them", () => {
    let s = initialProgress(B);
    s = apply(s, [asset(1, "ready", 5, OTHER)]);
    expect(s.assets.size).toBe(0);
    s = progressReducer(s, { type: "track", assetIds: [A1] });
    s = apply(s, [asset(2, "ready", 5, OTHER)]);
    expect(s.assets.get(A1)?.status).toBe("ready");
  });

  it("takes stats frames of this batch only", () => {
    let s = initialProgress(B);
    s = apply(s, [
      { type: "stats", seq: 4, stats: stats({ total: 99 }) },
      { type: "stats", seq: 5, stats: stats({ total: 3, ready: 1 }), batchId: B },
    ]);
    expect(s.stats?.total).toBe(3);
  });

  it("flags a reset so the page refetches, and a snapshot clears the flag", () => {
    let s = apply(initialProgress(B), [{ type: "reset", seq: 9 }]);
    expect(s.needsRefetch).toBe(true);
    s = progressReducer(s, {
      type: "snapshot",
      stats: stats({ total: 1, ready: 1 }),
      assets: [{ id: A1, status: "ready", version: 6, error: null }],
      now: 0,
    });
    expect(s.needsRefetch).toBe(false);
    expect(s.assets.get(A1)?.version).toBe(6);
  });

  it("does not let an older snapshot undo a newer event", () => {
    let s = apply(initialProgress(B), [asset(1, "ready", 6)]);
    s = progressReducer(s, {
      type: "snapshot",
      stats: stats({ total: 1, processing: 1 }),
      assets: [{ id: A1, status: "processing", version: 3, error: null }],
      now: 0,
    });
    expect(s.assets.get(A1)?.status).toBe("ready");
  });

  it("counts three stages from batch stats, a processing failure as uploaded", () => {
    let s = initialProgress(B);
    s = apply(s, [
      {
        type: "asset",
        seq: 1,
        assetId: A1,
        batchId: B,
        status: "failed",
        version: 4,
        error: { stage: "processing", code: "corrupt", message: "bad" },
      },
      {
        type: "stats",
        seq: 2,
        batchId: B,
        stats: stats({ total: 10, pending: 2, uploaded: 1, processed: 2, ready: 4, failed: 1 }),
      },
    ]);
    expect(stageCounts(s)).toEqual({
      total: 10,
      uploaded: 8,
      processed: 6,
      searchable: 4,
      failed: 1,
    });
  });

  it("estimates the time left from the observed searchable rate", () => {
    let s = initialProgress(B);
    const at = (t: number, ready: number) =>
      apply(s, [{ type: "stats", seq: t, batchId: B, stats: stats({ total: 100, ready }) }], t);
    s = at(0, 0);
    s = at(10_000, 20);
    const r = rates(s);
    expect(r.searchablePerSec).toBe(2);
    expect(r.etaSeconds).toBe(40);
  });
});
