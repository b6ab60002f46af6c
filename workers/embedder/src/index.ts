import { backoffSeconds } from "@darkroom/shared";
import { processDeadLetter, processMessage } from "./process-embed";

export default {
  async queue(batch, env) {
    const handle = batch.queue.endsWith("-dlq") ? processDeadLetter : processMessage;
    for (const msg of batch.messages) {
      try {
        await handle(env, msg.body);
        msg.ack();
      } catch (err) {
        console.error("embedder: will retry", {
          id: msg.id,
          attempts: msg.attempts,
          err: String(err),
        });
        msg.retry({ delaySeconds: backoffSeconds(msg.attempts) });
      }
    }
  },
} satisfies ExportedHandler<Env, unknown>;
