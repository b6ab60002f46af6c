import { backoffSeconds } from "@darkroom/shared";
import { ClaimHeld, processDeadLetter, processMessage } from "./process-embed";

export default {
  async queue(batch, env) {
    const handle = batch.queue.endsWith("-dlq") ? processDeadLetter : processMessage;
    // Ack or retry each message on its own: one bad photo never redelivers the batch.
    for (const msg of batch.messages) {
      try {
        await handle(env, msg.body);
        msg.ack();
      } catch (err) {
        if (err instanceof ClaimHeld) {
          // Another consumer is on it: come back when its lease would have run out.
          msg.retry({ delaySeconds: err.delaySeconds });
          continue;
        }
        console.error("embedder: transient failure, will retry", {
          id: msg.id,
          attempts: msg.attempts,
          err: String(err),
        });
        msg.retry({ delaySeconds: backoffSeconds(msg.attempts) });
      }
    }
  },
} satisfies ExportedHandler<Env, unknown>;
