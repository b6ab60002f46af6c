import { z } from "zod";

// How long the lifecycle waits before it presumes a stage dead (DESIGN.md, "Asset
// lifecycle"). These are the production defaults; a deployment may change them with the
// `*_SECONDS` vars below (wrangler.toml `[vars]`), which the load test's chaos run does to
// finish in minutes instead of waiting out ten-minute timeouts.

/** A processing claim older than this is presumed dead (its isolate crashed) and taken over. */
export const PROCESSING_LEASE_MS = 2 * 60_000;
/**
 * An `uploaded` asset nobody claimed for this long lost its `uploads` message (a restart
 * of local queues, a failed send): the sweeper re-sends it.
 */
export const UPLOADED_IDLE_MS = 2 * 60_000;
/**
 * How long an `embedding` claim is exclusive. Past it the claim is considered dead (a
 * crashed or evicted consumer): a delivery takes it over and the sweeper re-sends the
 * message. Longer than any healthy run (AI captioning included), short enough that a
 * lost message costs minutes.
 */
export const EMBED_LEASE_MS = 5 * 60_000;
/** A `processed` asset idle this long lost its `embed` message: the sweeper re-sends it. */
export const PROCESSED_IDLE_MS = 10 * 60_000;
/** A delete that has not finished after this long was interrupted: the sweeper finishes it. */
export const DELETING_STALE_MS = 5 * 60_000;

export type LifecycleTimings = {
  processingLeaseMs: number;
  uploadedIdleMs: number;
  embedLeaseMs: number;
  processedIdleMs: number;
  deletingStaleMs: number;
};

export const DEFAULT_LIFECYCLE_TIMINGS: Readonly<LifecycleTimings> = Object.freeze({
  processingLeaseMs: PROCESSING_LEASE_MS,
  uploadedIdleMs: UPLOADED_IDLE_MS,
  embedLeaseMs: EMBED_LEASE_MS,
  processedIdleMs: PROCESSED_IDLE_MS,
  deletingStaleMs: DELETING_STALE_MS,
});

/** The var that sets each timing, in seconds like the api's other `*_SECONDS` vars. */
export const LIFECYCLE_TIMING_VARS = {
  processingLeaseMs: "PROCESSING_LEASE_SECONDS",
  uploadedIdleMs: "UPLOADED_IDLE_SECONDS",
  embedLeaseMs: "EMBED_LEASE_SECONDS",
  processedIdleMs: "PROCESSED_IDLE_SECONDS",
  deletingStaleMs: "DELETING_STALE_SECONDS",
} as const satisfies Record<keyof LifecycleTimings, string>;

// Vars arrive as strings. A plain decimal only: `Number("")` is 0 and `Number("1e3")` is
// 1000, neither of which anyone means in a wrangler.toml; zero or less would make the
// sweeper re-send every message on every run, or a claim never exclusive.
const seconds = z
  .string()
  .trim()
  .regex(/^\d+(\.\d+)?$/, 'must be a positive number of seconds, like "120"')
  .refine((s) => Number(s) > 0, "must be more than 0 seconds")
  .transform(Number)
  .optional();

const timingsSchema = z.object({
  PROCESSING_LEASE_SECONDS: seconds,
  UPLOADED_IDLE_SECONDS: seconds,
  EMBED_LEASE_SECONDS: seconds,
  PROCESSED_IDLE_SECONDS: seconds,
  DELETING_STALE_SECONDS: seconds,
});

/**
 * The lifecycle timings of this deployment, in milliseconds: each from its var when the
 * worker's env has it, else the production default. A worker declares only the vars it
 * uses (the api all of them for the sweeper, the processor its lease, the embedder its
 * lease). Throws, naming the var and its value, on anything but a positive number.
 */
export function lifecycleTimings(env: object): LifecycleTimings {
  const parsed = timingsSchema.safeParse(env, { reportInput: true });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = issue.path.join(".");
      const value = "input" in issue ? JSON.stringify(issue.input) : "?";
      return `${name} = ${value} ${issue.message}`;
    });
    throw new Error(`Invalid lifecycle timing: ${problems.join("; ")}`);
  }
  const vars = parsed.data;
  const ms = (value: number | undefined, fallback: number) =>
    value === undefined ? fallback : Math.round(value * 1000);
  const d = DEFAULT_LIFECYCLE_TIMINGS;
  return {
    processingLeaseMs: ms(vars.PROCESSING_LEASE_SECONDS, d.processingLeaseMs),
    uploadedIdleMs: ms(vars.UPLOADED_IDLE_SECONDS, d.uploadedIdleMs),
    embedLeaseMs: ms(vars.EMBED_LEASE_SECONDS, d.embedLeaseMs),
    processedIdleMs: ms(vars.PROCESSED_IDLE_SECONDS, d.processedIdleMs),
    deletingStaleMs: ms(vars.DELETING_STALE_SECONDS, d.deletingStaleMs),
  };
}
