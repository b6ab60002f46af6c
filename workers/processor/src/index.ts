import { consumeBatch, withFaults } from "@darkroom/shared";
import { assetIdOf, processDeadLetter, uploadArrived } from "./process-upload";

export default {
  queue: (batch, bindings) => {
    // Inert unless DARKROOM_FAULTS is set (only the load test's chaos run sets it).
    const { env, deliver } = withFaults(bindings);
    return consumeBatch(batch, env, {
      process: deliver(uploadArrived),
      deadLetter: processDeadLetter,
      assetIdOf,
      // A notification completes the upload stage and runs processing in the same
      // delivery; what can fail for longer than a moment there is processing. The body
      // cannot tell the two apart (both stages' message is the same R2 notification,
      // pipeline.ts): only the asset's status does, read inside the handler.
      stageOf: () => "processing",
    });
  },
} satisfies ExportedHandler<Env, unknown>;
