import { z } from "zod";
import { TEXT_DIMENSIONS } from "./constants";

/** The text embedder for captions, labels and search queries (768 dimensions). */
export const TEXT_EMBEDDING_MODEL = "@cf/baai/bge-base-en-v1.5";

/** The part of the AI binding used here (`Ai` from workers-types fits). */
export type AiBinding = Pick<Ai, "run">;

const embeddingSchema = z.object({
  data: z.array(z.array(z.number()).length(TEXT_DIMENSIONS)).min(1),
});

/** One text as an L2-normalised vector; captions at index time, queries at search time. */
export async function embedText(ai: AiBinding, text: string): Promise<Float32Array> {
  const output = embeddingSchema.parse(
    await ai.run(TEXT_EMBEDDING_MODEL, { text: [text.slice(0, 2000)] }),
  );
  const values = Float32Array.from(output.data[0] ?? []);
  let sum = 0;
  for (const v of values) sum += v * v;
  const n = Math.sqrt(sum);
  if (n > 0) for (let i = 0; i < values.length; i++) values[i] = (values[i] ?? 0) / n;
  return values;
}

/**
 * Workers AI errors the binding throws read `"<internal code>: <description>"`
 * (https://developers.cloudflare.com/workers-ai/platform/errors/). These codes are 4xx
 * answers about the request or the account: the same call would fail again.
 */
const REJECTED_INPUT = new Set([3003, 3006, 5004, 5006]);
const NOT_ALLOWED = new Set([3023, 3039, 3041, 3042, 5005, 5007, 5016, 5018, 5019]);

export type AiFailure =
  | { kind: "transient"; code: number | null }
  | { kind: "rejected-input"; code: number }
  | { kind: "not-allowed"; code: number };

/**
 * What an error from the AI binding means for a retry. Rate limits (3036, 3040: 429),
 * timeouts (3007, 3008: 408), 5xx and anything unrecognised are transient: worth
 * retrying with backoff. A rejected input (the image) or a refused model/account are
 * not.
 */
export function classifyAiError(err: unknown): AiFailure {
  const message = err instanceof Error ? err.message : String(err);
  const m = /^(?:[A-Za-z]+:\s*)?(\d{4}):/.exec(message.trim());
  const code = m?.[1] ? Number(m[1]) : null;
  if (code !== null && REJECTED_INPUT.has(code)) return { kind: "rejected-input", code };
  if (code !== null && NOT_ALLOWED.has(code)) return { kind: "not-allowed", code };
  return { kind: "transient", code };
}
