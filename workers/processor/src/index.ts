import { consumeBatch } from "@darkroom/shared";
import { processDeadLetter, processMessage } from "./process-upload";

export default {
  queue: (batch, env) =>
    consumeBatch(batch, env, "processor", {
      process: processMessage,
      deadLetter: processDeadLetter,
    }),
} satisfies ExportedHandler<Env, unknown>;
