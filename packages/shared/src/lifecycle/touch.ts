import { and, eq, isNotNull } from "drizzle-orm";
import { assets } from "../db/schema";
import { outcome, type StageResult } from "./outcomes";
import type { TouchKind } from "./pipeline";
import { type Completion, settledElsewhere } from "./stage";
import { type Lifecycle, writeAsset } from "./write";

/**
 * Runs a touch (pipeline.ts, `TouchKind`) on an asset: no claim, no status change. The
 * work's columns are written only while the asset is still in the touch's status with its
 * mark standing, one versioned write (one event, so open pages refetch it). When that no
 * longer holds, the asset was deleted meanwhile (its cleanup runs: what the work wrote must
 * not outlive it) or moved on, exactly as for a claimed stage (`settledElsewhere`).
 */
export async function runTouch(
  lc: Lifecycle,
  touch: TouchKind,
  assetId: string,
  work: () => Promise<Completion>,
): Promise<StageResult> {
  const done = await work();
  const row = await writeAsset(
    lc,
    assetId,
    and(eq(assets.status, touch.status), isNotNull(assets[touch.mark])),
    done.set,
  );
  if (row) return outcome(assetId, "completed");
  return settledElsewhere(lc, assetId, done.cleanup);
}
