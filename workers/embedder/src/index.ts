import { consumeBatch, REDESCRIBE, withFaults } from "@darkroom/shared";
import { assetIdOf, processDeadLetter, runEmbedding } from "./process-embed";
import { isRedescribe, redescribe } from "./redescribe";

export default {
  queue: (batch, bindings) => {
    // Inert unless DARKROOM_FAULTS is set (only the load test's chaos run sets it).
    const { env, deliver } = withFaults(bindings);
    return consumeBatch(batch, env, {
      process: deliver((e, body) =>
        isRedescribe(body) ? redescribe(e, body) : runEmbedding(e, body),
      ),
      deadLetter: processDeadLetter,
      assetIdOf,
      stageOf: (body) => (isRedescribe(body) ? REDESCRIBE.name : "embedding"),
    });
  },
} satisfies ExportedHandler<Env, unknown>;
