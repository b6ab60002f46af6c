/**
 * A user's writes are held while they move between shards (DESIGN.md, "Sharding: moving
 * a user"). Thrown by `storeFor` while the directory says `copying`, and what a write
 * that reached a fenced shard turns into (the fence triggers of migration 0009 abort it
 * with `FENCE_MESSAGE`). Transient by design: a queue consumer's message is retried with
 * the one backoff and finds the user on their new shard; the api answers 503 with
 * Retry-After (workers/api/src/app.ts).
 */
/**
 * The message the fence triggers abort a held user's write with (migration 0009), and
 * the start of `UserMoving`'s: an error that crossed an RPC boundary keeps its message only.
 */
export const FENCE_MESSAGE = "user_moving";

/** Seconds a held user's client is asked to wait: a few-thousand-photo move takes about this long. */
export const MOVE_RETRY_AFTER_SECONDS = 5;

export class UserMoving extends Error {
  readonly retryAfterSeconds = MOVE_RETRY_AFTER_SECONDS;
  constructor(readonly uid: string) {
    super(`${FENCE_MESSAGE}: user ${uid} is moving between shards; try again in a moment`);
    this.name = "UserMoving";
  }
}

/** True for `UserMoving` and for a D1 write the fence refused. */
export function isUserMoving(err: unknown): boolean {
  if (err instanceof UserMoving) return true;
  return err instanceof Error && err.message.includes(FENCE_MESSAGE);
}
