import { WorkerEntrypoint } from "cloudflare:workers";
import {
  AiTestDouble,
  type AiTestDoubleBehaviour,
  asAiBinding,
  type CatalogueEntry,
  sha256Hex,
} from "../../../packages/shared/test/ai-test-double";
import { fixtureBytes } from "./fixtures";

/** What the AI test double says about each fixture thumb. */
export const FIXTURE_CATALOGUE: Record<string, CatalogueEntry> = {
  "saw.thumb.webp": {
    caption: "A man cutting a wooden board with a circular saw",
    labels: ["power saw", "plane"],
  },
  "saw-copy.thumb.webp": {
    caption: "A person sawing wood with a power saw",
    labels: ["power saw"],
  },
  "waterfall.thumb.webp": {
    caption: "A waterfall in a tropical forest",
    labels: ["waterfall", "valley"],
  },
  "concert.thumb.webp": {
    caption: "A crowd watching a concert on a big screen",
    labels: ["stage", "theater"],
  },
  "park.thumb.webp": {
    caption: "A man with a dog and a pram in a park",
    labels: ["park bench", "dog"],
  },
  "note.thumb.webp": { caption: "Handwritten words on white paper", labels: ["envelope"] },
};

let catalogue: Promise<Map<string, CatalogueEntry>> | undefined;

function catalogueByHash(): Promise<Map<string, CatalogueEntry>> {
  catalogue ??= (async () => {
    const entries = await Promise.all(
      Object.entries(FIXTURE_CATALOGUE).map(
        async ([name, entry]) => [await sha256Hex(fixtureBytes(name)), entry] as const,
      ),
    );
    return new Map(entries);
  })();
  return catalogue;
}

/** What crosses the RPC boundary: an answer, or the error the binding would throw. */
export type AiTestDoubleAnswer = {
  value: object | null;
  error: { name: string; message: string } | null;
};

/**
 * TEST DOUBLE of the `AI` binding reached through a service binding, like the real one
 * is reached through its own: inputs and outputs cross an RPC boundary and are
 * serialised as they would be. `ctx.props.behaviour` (set per binding in
 * vitest.config.ts) picks healthy, rate-limited, failing or image-rejecting.
 *
 * Errors travel as values and `aiBinding()` throws them in the caller, which is also
 * how the real binding works (its client turns the HTTP error into an
 * `InferenceUpstreamError`). Throwing across RPC here would trip a vitest-pool-workers
 * bug that reports every rejected RPC as an unhandled rejection (workers-sdk#14736).
 */
export class AiTestDoubleEntrypoint extends WorkerEntrypoint<
  Env,
  { behaviour: AiTestDoubleBehaviour }
> {
  async run(model: string, inputs: unknown): Promise<AiTestDoubleAnswer> {
    const double = new AiTestDouble(this.ctx.props.behaviour, await catalogueByHash());
    try {
      return { value: toObject(await double.run(model, inputs)), error: null };
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      return { value: null, error: { name: e.name, message: e.message } };
    }
  }
}

/** One call the code under test made, as the binding received it. */
export type AiCall = { model: string; inputs: unknown };

/**
 * The service binding as the `AI` binding the code under test expects; every call is
 * appended to `calls` when given (to show which calls were, or were never, made).
 */
export function aiBinding(service: Service<AiTestDoubleEntrypoint>, calls?: AiCall[]): Ai {
  return asAiBinding({
    async run(model: string, inputs: unknown) {
      calls?.push({ model, inputs });
      const { value, error } = await service.run(model, inputs);
      if (!error) return value;
      const err = new Error(error.message);
      err.name = error.name;
      throw err;
    },
  });
}

function toObject(value: unknown): object | null {
  return typeof value === "object" ? value : null;
}
