import type { AssetStatus, FailureStage } from "../assets";
import { originalKey } from "../keys";
import {
  type EmbedMessage,
  objectCreatedNotification,
  type R2Notification,
  type RedescribeMessage,
} from "../messages";
import type { LifecycleTimings } from "./leases";
import type { StageSpec } from "./stage";

// THE PIPELINE (DESIGN.md, "The pipeline table"): which status each stage moves an asset
// from and to, how long its claim is exclusive, how long the sweeper waits before it
// presumes the stage's message lost, which queue carries that message and how it is built
// from an asset row, and what follows. Every message of the pipeline is sent from this
// folder, built here; the processor, the embedder, the sweeper, the retry route and the
// local stand-ins for R2 all read this table (a test walks it, and another fails on a
// queue send or a status write anywhere else). Adding a stage is a row here and its handler.

/** The queue bindings the stages send to (the same names in every worker's wrangler.toml). */
export type QueueBinding = "UPLOADS_QUEUE" | "EMBED_QUEUE";

/**
 * What sending a stage's message needs of a worker's env: the bucket (R2 is the truth
 * about an original: its notification is built from the object as it is), the bucket's
 * name when the deployment renamed it, and whichever of the queues the worker binds.
 */
export type PipelineEnv = {
  BUCKET: R2Bucket;
  R2_BUCKET_NAME?: string;
} & { [Q in QueueBinding]?: Queue };

/**
 * The lifecycle timings plus the api's idle time of `pending` (PENDING_IDLE_SECONDS, in
 * workers/api/src/lib/config.ts with the other upload settings): every wait of the table.
 */
export type PipelineTimings = LifecycleTimings & { pendingIdleMs: number };

/** The timings that are a stage's lease. */
export type LeaseTiming = "processingLeaseMs" | "embedLeaseMs";

/** The least of a row a message is built from. */
export type AssetRef = { readonly id: string; readonly userId: string };

/** The bucket R2 notifications name when the deployment sets no R2_BUCKET_NAME. */
export const ORIGINALS_BUCKET_NAME = "darkroom-originals";

/**
 * One stage of the pipeline. Its `name` is the `FailureStage` its failures carry and that
 * a retry of such a failure restarts (`retryFrom`), and the `stage` of its log lines.
 */
export type PipelineStage = {
  readonly name: FailureStage;
  /** The status it starts from; a transient failure hands the asset back here. */
  readonly from: AssetStatus;
  /** The status while a claim is held; null for a stage that claims nothing. */
  readonly claimed: AssetStatus | null;
  /** The status it completes to. */
  readonly done: AssetStatus;
  /** Which timing is its lease (a claim older than it is presumed dead); null without claims. */
  readonly lease: LeaseTiming | null;
  /** Which timing an asset idles in `from` before the sweeper presumes its message lost. */
  readonly idle: keyof PipelineTimings;
  /** The queue its message travels on. */
  readonly queue: QueueBinding;
  /** Its message for `row`; null when none can be sent yet (no object in R2). */
  readonly message: (env: PipelineEnv, row: AssetRef) => Promise<unknown>;
  /** The stage that follows its completion; null after the last. */
  readonly next: FailureStage | null;
};

/** The message R2 sends for the original of `row`; null while R2 has no object. */
function originalNotification(env: PipelineEnv, row: AssetRef): Promise<R2Notification | null> {
  return objectNotification(env, originalKey(row.userId, row.id));
}

/** The message R2's object-create notification sends for `key`; null without an object. */
export async function objectNotification(
  env: PipelineEnv,
  key: string,
): Promise<R2Notification | null> {
  const head = await env.BUCKET.head(key);
  if (!head) return null;
  return objectCreatedNotification(env.R2_BUCKET_NAME || ORIGINALS_BUCKET_NAME, key, head);
}

/** The stages in lifecycle order: an asset walks them from `pending` to `ready`. */
export const PIPELINE = [
  {
    // R2's object-create notification: the bytes are there. The processor moves the asset
    // `pending → uploaded` and runs the next stage at once (same message, same queue).
    name: "upload",
    from: "pending",
    claimed: null,
    done: "uploaded",
    lease: null,
    idle: "pendingIdleMs",
    queue: "UPLOADS_QUEUE",
    message: originalNotification,
    next: "processing",
  },
  {
    name: "processing",
    from: "uploaded",
    claimed: "processing",
    done: "processed",
    lease: "processingLeaseMs",
    idle: "uploadedIdleMs",
    queue: "UPLOADS_QUEUE",
    message: originalNotification,
    next: "embedding",
  },
  {
    name: "embedding",
    from: "processed",
    claimed: "embedding",
    done: "ready",
    lease: "embedLeaseMs",
    idle: "processedIdleMs",
    queue: "EMBED_QUEUE",
    message: async (_env, row) => ({ assetId: row.id, uid: row.userId }) satisfies EmbedMessage,
    next: null,
  },
] as const satisfies readonly PipelineStage[];

export type StageName = (typeof PIPELINE)[number]["name"];
/** A stage that claims its asset: the processor's and the embedder's. */
export type ClaimedStageName = Extract<(typeof PIPELINE)[number], { claimed: string }>["name"];

/** The stage named `name`. */
export function pipelineStage(name: FailureStage): PipelineStage {
  const stage = PIPELINE.find((s) => s.name === name);
  if (!stage) throw new Error(`no pipeline stage ${name}`);
  return stage;
}

/**
 * A claimed stage as the claim machinery sees it (stage.ts): its statuses and this
 * deployment's lease.
 */
export function stageSpec(
  name: ClaimedStageName,
  timings: Pick<LifecycleTimings, LeaseTiming>,
): StageSpec {
  const stage = pipelineStage(name);
  if (stage.claimed === null || stage.lease === null) throw new Error(`${name} claims nothing`);
  return {
    name,
    from: stage.from,
    claimed: stage.claimed,
    done: stage.done,
    leaseMs: timings[stage.lease],
  };
}

/** The stage that follows a stage completing to `status`; null once the asset is done. */
export function afterCompletion(status: AssetStatus): PipelineStage | null {
  const finished = PIPELINE.find((s) => s.done === status);
  return finished?.next ? pipelineStage(finished.next) : null;
}

/** The stage a failure at `stage` restarts: the one that failed. */
export function retryFrom(stage: FailureStage): PipelineStage {
  return pipelineStage(stage);
}

/** Sends `body` on `queue`, after `delaySeconds` when given: the pipeline's one send. */
async function sendOn(
  env: PipelineEnv,
  queue: QueueBinding,
  body: unknown,
  delaySeconds?: number,
): Promise<void> {
  const binding = env[queue];
  if (!binding) throw new Error(`${queue} is not bound in this worker`);
  await binding.send(body, delaySeconds === undefined ? undefined : { delaySeconds });
}

/**
 * Sends `stage`'s message for `row`. Returns what was sent, or null when no message
 * could be built (an original not in R2): nothing was sent.
 */
export async function enqueue(
  env: PipelineEnv,
  stage: PipelineStage,
  row: AssetRef,
  delaySeconds?: number,
): Promise<unknown> {
  const body = await stage.message(env, row);
  if (body === null) return null;
  await sendOn(env, stage.queue, body, delaySeconds);
  return body;
}

/**
 * Sends a message of `stage` already built: a dead letter sent again as it came after
 * `delaySeconds` (`deadLettered`), or one a retry built to decide where to restart.
 */
export function send(
  env: PipelineEnv,
  stage: PipelineStage,
  body: unknown,
  delaySeconds?: number,
): Promise<void> {
  return sendOn(env, stage.queue, body, delaySeconds);
}

/**
 * The upload stage's message for an object just stored under `key` (the local stand-in
 * for a presigned PUT, and the dev route that stands in for R2's notification): exactly
 * what R2 would send. Null, and nothing sent, when R2 has no such object.
 */
export async function announceObject(
  env: PipelineEnv,
  key: string,
): Promise<R2Notification | null> {
  const note = await objectNotification(env, key);
  if (note) await send(env, pipelineStage("upload"), note);
  return note;
}

/**
 * Work on an asset that claims nothing and moves no status: it rewrites a `ready`
 * asset's description while the mark it was sent for still stands (`runTouch`). The
 * sweeper sends it for marked rows whose mark is due, pushing the mark `retryMs` ahead.
 */
export type TouchKind = {
  readonly name: "redescribe";
  /** The status it works in and leaves unchanged. */
  readonly status: AssetStatus;
  /** The column that marks an asset for it (set by the work, due when at or before now). */
  readonly mark: "redescribeAt";
  readonly queue: QueueBinding;
  readonly message: (row: AssetRef) => unknown;
  /** A message sent for a mark still standing this long later is sent again. */
  readonly retryMs: number;
  /** Marks handled per sweep: a pace Workers AI's 720 image-to-text requests a minute absorb. */
  readonly batch: number;
};

export const REDESCRIBE = {
  name: "redescribe",
  status: "ready",
  mark: "redescribeAt",
  queue: "EMBED_QUEUE",
  message: (row) =>
    ({ assetId: row.id, uid: row.userId, redescribe: true }) satisfies RedescribeMessage,
  retryMs: 30 * 60_000,
  batch: 25,
} as const satisfies TouchKind;

/** Sends a touch's message for `row`. */
export function enqueueTouch(env: PipelineEnv, touch: TouchKind, row: AssetRef): Promise<void> {
  return sendOn(env, touch.queue, touch.message(row));
}
