import { consumeBatch } from "@darkroom/shared";
import { processDeadLetter, processMessage } from "./process-embed";

export default {
  queue: (batch, env) =>
    consumeBatch(batch, env, "embedder", {
      process: processMessage,
      deadLetter: processDeadLetter,
    }),
} satisfies ExportedHandler<Env, unknown>;
