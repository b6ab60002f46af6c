import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { PLAN_PREFIX_BYTES, planImage } from "../src/image/pipeline";
import { budgetOf, laneFor, processOriginal } from "../src/process-original";
import { fixture } from "./fixtures";

// A real photo (2725x2225 JPEG, 0.8 MB): larger than the prefix the lane plans from.
const PHOTO = fixture("2569067123_aca715a2ee_o.jpg");

const MB = 1024 * 1024;

/**
 * Stores `count` copies of the photo, then processes them all at once (as concurrent
 * queue invocations in one isolate would) under a budget of `budgetMb`, recording the
 * bytes the lane had set aside each time a whole original was read.
 */
async function concurrently(count: number, budgetMb: number) {
  const budgeted = { ...env, PROCESSOR_MEMORY_BUDGET_MB: String(budgetMb) };
  const lane = laneFor(budgetOf(budgeted));
  const heldAtRead: number[] = [];
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    const key = `test-lane/${crypto.randomUUID()}`;
    await env.BUCKET.put(key, PHOTO);
    keys.push(key);
  }
  const bucket: R2Bucket = Object.create(env.BUCKET, {
    get: {
      value: (key: string, opts?: R2GetOptions) => {
        if (!opts?.range) heldAtRead.push(lane.inUse);
        return env.BUCKET.get(key, opts);
      },
    },
  });
  const withLane: Env = { ...budgeted, BUCKET: bucket };
  const results = await Promise.all(
    keys.map((key) => processOriginal(withLane, key, PHOTO.byteLength)),
  );
  expect(lane.inUse).toBe(0);
  return { heldAtRead, results };
}

describe("the processing lane", () => {
  // What the lane sets aside for the photo, planned from its first 256 KB.
  const perImage = planImage(PHOTO.subarray(0, PLAN_PREFIX_BYTES), PHOTO.byteLength).peakBytes;

  it("reads an original only once its bytes fit the budget, so two never overlap past it", async () => {
    // Room for one image, not two.
    const budgetMb = Math.ceil((perImage * 1.5) / MB);
    const { heldAtRead, results } = await concurrently(3, budgetMb);
    expect(results.map((r) => r.kind)).toEqual(["processed", "processed", "processed"]);
    // Each whole original was read with only its own image in the lane.
    expect(heldAtRead).toEqual([perImage, perImage, perImage]);
  });

  it("admits images side by side by their estimated bytes", async () => {
    // Room for two images, not three.
    const budgetMb = Math.ceil((perImage * 2.5) / MB);
    const { heldAtRead, results } = await concurrently(3, budgetMb);
    expect(results.map((r) => r.kind)).toEqual(["processed", "processed", "processed"]);
    // Two at once, never three: the third read only once one of the first two was done.
    expect(heldAtRead).toEqual([perImage, 2 * perImage, 2 * perImage]);
  });

  it("refuses from the first bytes an image that cannot fit, never reading it whole", async () => {
    const key = `test-lane/${crypto.randomUUID()}`;
    // A PNG header of 65536x65536 followed by 300 KB: over the pixel cap.
    const file = new Uint8Array(300 * 1024);
    file.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    new DataView(file.buffer).setUint32(16, 65536);
    new DataView(file.buffer).setUint32(20, 65536);
    file.set([8, 6, 0, 0, 0], 24);
    await env.BUCKET.put(key, file);
    let wholeReads = 0;
    const bucket: R2Bucket = Object.create(env.BUCKET, {
      get: {
        value: (k: string, opts?: R2GetOptions) => {
          if (!opts?.range) wholeReads++;
          return env.BUCKET.get(k, opts);
        },
      },
    });
    const r = await processOriginal({ ...env, BUCKET: bucket }, key, file.byteLength);
    expect(r.kind === "refused" && r.error.code).toBe("too_large");
    expect(wholeReads).toBe(0);
  });
});
