import { describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without declarations
import { runLoad } from "../../scripts/load.mjs";

// Small versions of `npm run load` (the 2,000-file run is a benchmark, docs/benchmarks.md):
// small images (0.1-1 MP) so each stays within a couple of minutes on 2 cores. The chaos
// run waits for the sweeper to bring home what a crash lost (2-minute idle timeouts).

type LoadResult = {
  validFiles: number;
  validReady: number;
  lost: number;
  stranded: number;
  corruptFailedWithReason: string;
  duplicatesDetected: string;
  exactlyOnce?: {
    readyWithOtherThanOneVectorRow: number;
    assetsWithWrongR2Objects: number;
  };
};

const quiet = () => {};

describe("load run", () => {
  it("brings 20 files home: every valid one ready, duplicates detected, corrupt ones failed", async () => {
    const r = (await runLoad({ files: 20, small: true, log: quiet })) as LoadResult;
    expect(r.lost, JSON.stringify(r)).toBe(0);
    expect(r.validReady, JSON.stringify(r)).toBe(r.validFiles);
    expect(r.stranded).toBe(0);
    expect(r.corruptFailedWithReason).toBe("1/1");
    expect(r.duplicatesDetected).toBe("1/1");
  }, 300_000);

  // Opt-in until the sweeper's idle timeouts are configurable: a crash strands assets in
  // `processed` for PROCESSED_IDLE_MS (10 min) before the sweeper re-sends them, so
  // this run takes ~12 minutes. DARKROOM_CHAOS_TEST=1 npm test runs it.
  it.runIf(process.env.DARKROOM_CHAOS_TEST === "1")(
    "survives a crash mid-upload, R2 put failures and duplicate deliveries: every valid file ready exactly once",
    async () => {
      const r = (await runLoad({
        files: 30,
        small: true,
        chaos: true,
        restarts: 1,
        log: quiet,
      })) as LoadResult;
      expect(r.lost, JSON.stringify(r)).toBe(0);
      expect(r.validReady, JSON.stringify(r)).toBe(r.validFiles);
      expect(r.stranded).toBe(0);
      expect(r.corruptFailedWithReason).toBe("1/1");
      expect(r.exactlyOnce).toEqual({
        readyWithOneVectorRow: r.validFiles,
        readyWithOtherThanOneVectorRow: 0,
        assetsWithWrongR2Objects: 0,
      });
    },
    1_200_000,
  );
});
