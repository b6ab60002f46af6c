// Types of backoff.js for the workers, whose tsconfig does not read JavaScript.
export type Backoff = { baseMs: number; capMs: number };
export declare function fullJitterMs(
  attempt: number,
  policy: Backoff,
  random?: () => number,
): number;
export declare const QUEUES_MAX_DELAY_SECONDS: number;
export declare const QUEUE_BACKOFF: Readonly<Backoff>;
export declare function backoffSeconds(attempts: number, random?: () => number): number;
