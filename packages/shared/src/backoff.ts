/**
 * Exponential backoff with full jitter for `msg.retry({ delaySeconds })`: attempt 1 waits
 * up to 4 s, doubling to a 5-minute ceiling, so a flapping dependency is not hammered in
 * lockstep by every message of a batch.
 */
export function backoffSeconds(attempts: number, random: () => number = Math.random): number {
  const ceiling = Math.min(300, 2 ** Math.min(attempts + 1, 12));
  return Math.max(1, Math.round(ceiling * (0.5 + random() / 2)));
}
