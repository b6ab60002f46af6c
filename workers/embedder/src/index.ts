import { consumeBatch, withFaults } from "@darkroom/shared";
import { assetIdOf, processDeadLetter, processMessage } from "./process-embed";
import { isRedescribe, redescribe } from "./redescribe";

export default {
  queue: (batch, bindings) => {
    // Inert unless DARKROOM_FAULTS is set (only the load test's chaos run sets it).
    const { env, deliver } = withFaults(bindings);
    return consumeBatch(batch, env, "embedder", {
      process: deliver((e, body) =>
        isRedescribe(body) ? redescribe(e, body) : processMessage(e, body),
      ),
      deadLetter: processDeadLetter,
      assetIdOf,
    });
  },
} satisfies ExportedHandler<Env, unknown>;
