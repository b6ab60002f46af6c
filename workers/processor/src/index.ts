import { backoffSeconds } from "@darkroom/shared";
import { RetryLater } from "./process-stage";
import { processDeadLetter, processMessage } from "./process-upload";

export default {
  async queue(batch, env) {
    const handle = batch.queue.endsWith("-dlq") ? processDeadLetter : processMessage;
    // Ack or retry each message on its own: one bad photo never redelivers the batch.
    for (const msg of batch.messages) {
      try {
        await handle(env, msg.body);
        msg.ack();
      } catch (err) {
        if (err instanceof RetryLater) {
          // Another consumer holds a live claim: come back when its lease ends.
          msg.retry({ delaySeconds: err.delaySeconds });
          continue;
        }
        console.error("processor: transient failure, will retry", {
          id: msg.id,
          attempts: msg.attempts,
          err: String(err),
        });
        msg.retry({ delaySeconds: backoffSeconds(msg.attempts) });
      }
    }
  },
} satisfies ExportedHandler<Env, unknown>;
