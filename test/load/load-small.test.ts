import { describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without declarations
import { runLoad } from "../../scripts/load.mjs";

// Small versions of `npm run load` (the 2,000-file run is a benchmark, docs/benchmarks.md):
// small images (0.1-1 MP) so each stays within a couple of minutes on 2 cores. The chaos
// run shortens the lifecycle timeouts to seconds (scripts/load.mjs `chaosTimings`), so the
// sweeper brings home what the crashes lost within the run instead of after 10 minutes.

type LoadResult = {
  settled: boolean;
  validFiles: number;
  validReady: number;
  lost: number;
  stranded: number;
  strandedByStatus: Record<string, number>;
  corruptFailedWithReason: string;
  duplicatesDetected: string;
  restarts: { why: string; seconds: number }[];
  exactlyOnce?: {
    readyWithOneVectorRow: number;
    readyWithOtherThanOneVectorRow: number;
    assetsWithWrongR2Objects: number;
    filesWithOtherThanOneAssetRow: number;
    assetRowsOfNoFile: number;
    r2ObjectsWithoutAssetRow: number;
  };
};

const quiet = () => {};

describe("load run", () => {
  it("brings 20 files home: every valid one ready, duplicates detected, corrupt ones failed", async () => {
    const r: LoadResult = await runLoad({ files: 20, small: true, log: quiet });
    expect(r.lost, JSON.stringify(r)).toBe(0);
    expect(r.validReady, JSON.stringify(r)).toBe(r.validFiles);
    expect(r.stranded).toBe(0);
    expect(r.corruptFailedWithReason).toBe("1/1");
    expect(r.duplicatesDetected).toBe("1/1");
  }, 300_000);

  it("survives two crashes of the stack, R2 put failures and duplicate deliveries: every valid file ready exactly once, nothing stranded, the corrupt one failed with a reason", async () => {
    const r: LoadResult = await runLoad({
      files: 24,
      small: true,
      chaos: true,
      restarts: 2,
      // Well past what the shortened timeouts need (a run takes ~30-60 s): a stranded
      // asset then shows up in the result instead of as a test timeout.
      timeoutMs: 180_000,
      log: quiet,
    });
    const all = JSON.stringify(r);
    expect(r.restarts.map((x) => x.why)).toEqual([
      "mid-upload",
      expect.stringMatching(/^processing/),
    ]);
    expect(r.settled, all).toBe(true);
    expect(r.strandedByStatus, all).toEqual({});
    expect(r.lost, all).toBe(0);
    expect(r.validReady, all).toBe(r.validFiles);
    expect(r.corruptFailedWithReason, all).toBe("1/1");
    expect(r.exactlyOnce, all).toEqual({
      readyWithOneVectorRow: r.validFiles,
      readyWithOtherThanOneVectorRow: 0,
      assetsWithWrongR2Objects: 0,
      filesWithOtherThanOneAssetRow: 0,
      assetRowsOfNoFile: 0,
      r2ObjectsWithoutAssetRow: 0,
    });
  }, 300_000);
});
