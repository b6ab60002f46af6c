/** A processing claim older than this is presumed dead (its isolate crashed) and taken over. */
export const PROCESSING_LEASE_MS = 2 * 60_000;
/**
 * An `uploaded` asset nobody claimed for this long lost its `uploads` message (a restart
 * of local queues, a failed send): the sweeper re-sends it.
 */
export const UPLOADED_IDLE_MS = 2 * 60_000;
