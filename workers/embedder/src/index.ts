import { consumeBatch, withFaults } from "@darkroom/shared";
import { assetIdOf, processDeadLetter, processMessage } from "./process-embed";

export default {
  queue: (batch, bindings) => {
    // Inert unless DARKROOM_FAULTS is set (only the load test's chaos run sets it).
    const { env, deliver } = withFaults(bindings);
    return consumeBatch(batch, env, "embedder", {
      process: deliver(processMessage),
      deadLetter: processDeadLetter,
      assetIdOf,
    });
  },
} satisfies ExportedHandler<Env, unknown>;
