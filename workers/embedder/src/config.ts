import { DEFAULT_TEXT_EMBEDDING_MODEL, workersAiModelId } from "@darkroom/shared";
import { optionalVar, readVars } from "@darkroom/shared/vars";

/**
 * The embedder's settings (wrangler.toml `[vars]`), parsed once per env so that a typo
 * fails the first message loudly instead of every AI call quietly. Each Workers AI model
 * is a var: a model leaves the catalogue on Cloudflare's schedule, not ours
 * (docs/operations.md, "Workers AI models").
 */
const configShape = {
  // https://developers.cloudflare.com/workers-ai/models/moondream3.1-9B-A2B/ (Image-to-Text,
  // `task: "caption"`, image as a base64 data URI, output `{ caption, finish_reason, metrics }`).
  AI_CAPTION_MODEL: optionalVar(workersAiModelId, "@cf/moondream/moondream3.1-9B-A2B"),
  // https://developers.cloudflare.com/workers-ai/models/resnet-50/ (Image Classification,
  // image as an array of byte values, output `[{ label, score }]`).
  AI_LABEL_MODEL: optionalVar(workersAiModelId, "@cf/microsoft/resnet-50"),
  // https://developers.cloudflare.com/workers-ai/models/bge-base-en-v1.5/ (Text Embeddings,
  // 768 dimensions; the api embeds search queries with the same var).
  AI_TEXT_EMBEDDING_MODEL: optionalVar(workersAiModelId, DEFAULT_TEXT_EMBEDDING_MODEL),
};
export type EmbedderConfig = ReturnType<typeof readEmbedderVars>;

// Unset or empty: the default (the shared dialect, @darkroom/shared/vars).
const readEmbedderVars = (env: object) => readVars(configShape, env, "Invalid embedder var");

const parsed = new WeakMap<object, EmbedderConfig>();

export function embedderConfig(env: object): EmbedderConfig {
  let cfg = parsed.get(env);
  if (!cfg) {
    cfg = readEmbedderVars(env);
    parsed.set(env, cfg);
  }
  return cfg;
}
