// One fuzz case under the processor's real checks: the probe with its work meter, the
// lane's reservation from the 256 KB prefix, then processImage (real WASM decoders, the
// real memory meter). A case either ends `ready` or in a typed refusal (ImageError);
// anything else is thrown to the caller as a crash.
import { ImageError } from "../../src/image/errors";
import { laneBytes, PLAN_PREFIX_BYTES, processImage } from "../../src/image/pipeline";
import { probe } from "../../src/image/probe";
import { WorkMeter } from "../../src/image/work";

export type CaseResult = {
  outcome: "ready" | "refused";
  /** The refusal's code (ImageError), for a refused case. */
  code: string | null;
  message: string | null;
  /** Measured peak and the estimate it must stay under (0 when refused before decoding). */
  peak: number;
  estimate: number;
  /** Work units the probe of the whole file spent, and its budget. */
  workUnits: number;
  workLimit: number;
  /** Milliseconds of the probe and of the whole case (workerd's clock, which moves on I/O). */
  probeMs: number;
  ms: number;
};

/** What went wrong with a case beyond a typed refusal: the property it broke. */
export class CaseViolation extends Error {
  override name = "CaseViolation";
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

export async function runCase(file: Uint8Array): Promise<CaseResult> {
  await tick();
  const t0 = performance.now();
  const work = WorkMeter.forFile(file.length);
  let whole: ReturnType<typeof probe> | null = null;
  try {
    whole = probe(file, file.length, work);
  } catch (err) {
    if (!(err instanceof ImageError)) throw err;
  }
  await tick();
  const probeMs = performance.now() - t0;
  if (work.spent > work.limit) throw new CaseViolation(`work ${work.spent} over ${work.limit}`);
  let reserved: number | null = null;
  try {
    reserved = laneBytes(file.subarray(0, PLAN_PREFIX_BYTES), file.length);
  } catch (err) {
    if (!(err instanceof ImageError)) throw err;
  }
  const base = { workUnits: work.spent, workLimit: work.limit, probeMs };
  try {
    const r = await processImage(file);
    await tick();
    const ms = performance.now() - t0;
    if (r.peakBytes > r.estimatedBytes)
      throw new CaseViolation(`peak ${r.peakBytes} over the estimate ${r.estimatedBytes}`);
    if (whole && reserved !== null && reserved < r.estimatedBytes)
      throw new CaseViolation(
        `the lane reserved ${reserved} from the prefix, under ${r.estimatedBytes}`,
      );
    return {
      ...base,
      outcome: "ready",
      code: null,
      message: null,
      peak: r.peakBytes,
      estimate: r.estimatedBytes,
      ms,
    };
  } catch (err) {
    if (!(err instanceof ImageError)) throw err;
    await tick();
    return {
      ...base,
      outcome: "refused",
      code: err.code,
      message: err.message,
      peak: 0,
      estimate: 0,
      ms: performance.now() - t0,
    };
  }
}
