import { ByteLane } from "./byte-lane";
import { processorConfig } from "./config";
import { ImageError } from "./image/errors";
import {
  type Budget,
  laneBytes,
  PLAN_PREFIX_BYTES,
  type Processed,
  processImage,
} from "./image/pipeline";

/** The deployment's budget: the processor's one config (src/config.ts). */
export function budgetOf(env: Env): Budget {
  return processorConfig(env).budget;
}

// Concurrent queue invocations of one isolate share its 128 MB: the lane admits images
// by the bytes they may hold (one per budget size; the budget is per deployment).
const lanes = new Map<number, ByteLane>();
export function laneFor(budget: Budget): ByteLane {
  let lane = lanes.get(budget.memoryBytes);
  if (!lane) {
    lane = new ByteLane(budget.memoryBytes);
    lanes.set(budget.memoryBytes, lane);
  }
  return lane;
}

export type OriginalResult =
  | { kind: "processed"; result: Processed }
  | { kind: "missing" }
  | { kind: "size_mismatch"; size: number }
  | { kind: "refused"; error: ImageError };

/**
 * Processes the original under `key` inside the lane: only its first bytes are read
 * before (the header, to plan what the image will hold), and the whole original only once
 * the lane has set that much aside, so images waiting their turn hold nothing but their
 * prefix. Transient failures (R2, the Images binding) throw.
 */
export async function processOriginal(
  env: Env,
  key: string,
  declaredSize: number,
): Promise<OriginalResult> {
  // "If more bytes are requested than exist in the object, fewer bytes than this number
  // may be returned" (developers.cloudflare.com/r2/api/workers/workers-api-reference/,
  // Ranged reads): a small original comes whole.
  const head = await env.BUCKET.get(key, { range: { offset: 0, length: PLAN_PREFIX_BYTES } });
  if (!head) return { kind: "missing" };
  if (head.size !== declaredSize) return { kind: "size_mismatch", size: head.size };
  const prefix = new Uint8Array(await head.arrayBuffer());
  const budget = budgetOf(env);
  const images = env.IMAGES;
  try {
    const reserve = laneBytes(prefix, head.size, { budget, images: Boolean(images) });
    return await laneFor(budget).run(reserve, async (): Promise<OriginalResult> => {
      const bytes = prefix.byteLength === head.size ? prefix : await readWhole(env, key);
      if (!bytes) return { kind: "missing" };
      if (bytes.byteLength !== declaredSize)
        return { kind: "size_mismatch", size: bytes.byteLength };
      return { kind: "processed", result: await processImage(bytes, { budget, images }) };
    });
  } catch (err) {
    if (err instanceof ImageError) return { kind: "refused", error: err };
    throw err;
  }
}

async function readWhole(env: Env, key: string): Promise<Uint8Array | null> {
  const object = await env.BUCKET.get(key);
  return object ? new Uint8Array(await object.arrayBuffer()) : null;
}
