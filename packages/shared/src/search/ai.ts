import { z } from "zod";
import { optionalVar, readVars } from "../vars";
import { TEXT_DIMENSIONS } from "./constants";

/**
 * The text embedder for captions, labels and search queries, unless a deployment names
 * another (`AI_TEXT_EMBEDDING_MODEL`, the same var for the api and the embedder: a query
 * and a caption must land in the same space). Its vectors must have TEXT_DIMENSIONS
 * values, the size of the `darkroom-text` index. Still in the catalogue, not among the
 * 2026-05-30 deprecations:
 * https://developers.cloudflare.com/workers-ai/models/bge-base-en-v1.5/ (input `text`:
 * a string or up to 100 strings, each at least 1 character, 512 tokens at most; output
 * `{ shape, data: number[][] }`). The default `mean` pooling is kept: `cls` vectors are
 * not comparable with the ones already indexed.
 */
export const DEFAULT_TEXT_EMBEDDING_MODEL = "@cf/baai/bge-base-en-v1.5";

/** A Workers AI model id as the catalogue spells them (`@cf/<author>/<name>`, `@hf/…`). */
export const workersAiModelId = z
  .string()
  .trim()
  .regex(
    /^@(cf|hf)\/[\w.-]+\/[\w.-]+$/,
    'must be a Workers AI model id like "@cf/baai/bge-base-en-v1.5"',
  );

/** The text embedding model of a deployment: its var, or the default. */
export function textEmbeddingModel(env: { AI_TEXT_EMBEDDING_MODEL?: string }): string {
  const shape = {
    AI_TEXT_EMBEDDING_MODEL: optionalVar(workersAiModelId, DEFAULT_TEXT_EMBEDDING_MODEL),
  };
  return readVars(shape, env, "Invalid AI var").AI_TEXT_EMBEDDING_MODEL;
}

/** The part of the AI binding used here (`Ai` from workers-types fits). */
export type AiBinding = Pick<Ai, "run">;

const embeddingSchema = z.object({
  data: z.array(z.array(z.number()).length(TEXT_DIMENSIONS)).min(1),
});

/** The model refuses an empty text (`minLength: 1`): callers skip, never send "". */
export class EmptyText extends RangeError {
  constructor() {
    super("no text to embed");
  }
}

/** One text as an L2-normalised vector; captions at index time, queries at search time. */
export async function embedText(
  ai: AiBinding,
  text: string,
  model: string = DEFAULT_TEXT_EMBEDDING_MODEL,
): Promise<Float32Array> {
  // ~512 tokens of English; longer input is truncated by the model anyway.
  const input = text.trim().slice(0, 2000);
  if (input === "") throw new EmptyText();
  const output = embeddingSchema.parse(await ai.run(model, { text: [input] }));
  const values = Float32Array.from(output.data[0] ?? []);
  let sum = 0;
  for (const v of values) sum += v * v;
  const n = Math.sqrt(sum);
  if (n > 0) for (let i = 0; i < values.length; i++) values[i] = (values[i] ?? 0) / n;
  return values;
}

/**
 * Workers AI errors, as the binding throws them: an `InferenceUpstreamError` whose message
 * is `"<internal code>: <description>"` when the answer carried an internal code, or the
 * raw body otherwise (workerd's ai-api.ts `_parseError`). The codes and their HTTP
 * statuses: https://developers.cloudflare.com/workers-ai/platform/errors/ and, for 5035,
 * the changelog "Select models now require the Workers Paid plan" (2026-07-28).
 */
/** The request or the photo itself: this same input would be refused again. */
const REJECTED_INPUT = new Set([
  3003, // 400 Incomplete request
  3006, // 413 Request is too large
  5004, // 400 Invalid data (base64 input)
]);
/** The model or the account: no call to this model can succeed until someone acts. */
const UNAVAILABLE = new Set([
  5007, // 400 No such model ${model} or task (a removed model answers this)
  3042, // 404 Invalid model ID
  3039, // 400 Finetune missing required files
  5005, // 405 LoRa unsupported
  5019, // 405 Deprecated SDK version
  5016, // 403 Model agreement not accepted
  5018, // 403 Account not allowed for private model
  3041, // 403 Account not allowed for private model
  3023, // 403 Account blocked
  5035, // 403 Model requires the Workers Paid plan
]);
/** 429 Account limited: "You have used up your daily free allocation of 10,000 neurons". */
export const DAILY_ALLOCATION_EXHAUSTED = 3036;

export type AiFailure =
  | { kind: "transient"; code: number | null; message: string }
  | { kind: "exhausted"; code: number; message: string }
  | { kind: "unavailable"; code: number; message: string }
  | { kind: "rejected-input"; code: number; message: string };

/**
 * What an error from the AI binding means. Out of capacity (3040, 429), timeouts (3007,
 * 3008: 408), 5xx, network errors and anything unrecognised are transient: worth a
 * retry with backoff. The daily free allocation (3036) comes back tomorrow: a retry
 * within the hour only burns the message's attempts. An unavailable model or account
 * needs an operator; a refused input needs another photo.
 */
export function classifyAiError(err: unknown): AiFailure {
  const message = (err instanceof Error ? err.message : String(err)).slice(0, 500);
  const m = /^(?:[A-Za-z]+:\s*)?(\d{4}):/.exec(message.trim());
  const code = m?.[1] ? Number(m[1]) : null;
  if (code === DAILY_ALLOCATION_EXHAUSTED) return { kind: "exhausted", code, message };
  if (code !== null && REJECTED_INPUT.has(code)) return { kind: "rejected-input", code, message };
  if (code !== null && UNAVAILABLE.has(code)) return { kind: "unavailable", code, message };
  return { kind: "transient", code, message };
}
