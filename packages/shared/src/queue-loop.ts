import { backoffSeconds } from "./backoff";

/**
 * Thrown by a stage that meets another consumer's live claim: the message is retried
 * when that claim's lease would have run out, never acked away.
 */
export class ClaimHeld extends Error {
  constructor(readonly delaySeconds: number) {
    super(`another consumer is working on this asset; retry in ${delaySeconds} s`);
  }
}

type Handler<E> = (env: E, body: unknown) => Promise<unknown>;

/**
 * The queue consumer loop every stage uses: messages of `<queue>-dlq` go to
 * `deadLetter`, the others to `process`; each message is acked or retried on its own,
 * so one bad photo never redelivers the batch. A throw is a transient failure: retried
 * with exponential backoff and jitter (after max_retries the message dead-letters).
 */
export async function consumeBatch<E>(
  batch: MessageBatch<unknown>,
  env: E,
  stage: string,
  handlers: { process: Handler<E>; deadLetter: Handler<E> },
): Promise<void> {
  const handle = batch.queue.endsWith("-dlq") ? handlers.deadLetter : handlers.process;
  for (const msg of batch.messages) {
    try {
      await handle(env, msg.body);
      msg.ack();
    } catch (err) {
      if (err instanceof ClaimHeld) {
        msg.retry({ delaySeconds: err.delaySeconds });
        continue;
      }
      console.error(`${stage}: transient failure, will retry`, {
        id: msg.id,
        attempts: msg.attempts,
        err: String(err),
      });
      msg.retry({ delaySeconds: backoffSeconds(msg.attempts) });
    }
  }
}
