import { DEFAULT_TEXT_EMBEDDING_MODEL, workersAiModelId } from "@darkroom/shared";
import { z } from "zod";

/**
 * The embedder's settings (wrangler.toml `[vars]`), parsed once per env so that a typo
 * fails the first message loudly instead of every AI call quietly. Each Workers AI model
 * is a var: a model leaves the catalogue on Cloudflare's schedule, not ours
 * (docs/operations.md, "Workers AI models").
 */
const configSchema = z.object({
  // https://developers.cloudflare.com/workers-ai/models/moondream3.1-9B-A2B/ (Image-to-Text,
  // `task: "caption"`, image as a base64 data URI, output `{ caption, finish_reason, metrics }`).
  AI_CAPTION_MODEL: workersAiModelId.default("@cf/moondream/moondream3.1-9B-A2B"),
  // https://developers.cloudflare.com/workers-ai/models/resnet-50/ (Image Classification,
  // image as an array of byte values, output `[{ label, score }]`).
  AI_LABEL_MODEL: workersAiModelId.default("@cf/microsoft/resnet-50"),
  // https://developers.cloudflare.com/workers-ai/models/bge-base-en-v1.5/ (Text Embeddings,
  // 768 dimensions; the api embeds search queries with the same var).
  AI_TEXT_EMBEDDING_MODEL: workersAiModelId.default(DEFAULT_TEXT_EMBEDDING_MODEL),
});
export type EmbedderConfig = z.infer<typeof configSchema>;

const parsed = new WeakMap<object, EmbedderConfig>();
const VARS = ["AI_CAPTION_MODEL", "AI_LABEL_MODEL", "AI_TEXT_EMBEDDING_MODEL"] as const;

/** The vars as they arrive: strings when set (wrangler.toml declares none of them). */
const varsSchema = z.object({
  AI_CAPTION_MODEL: z.string().optional(),
  AI_LABEL_MODEL: z.string().optional(),
  AI_TEXT_EMBEDDING_MODEL: z.string().optional(),
});

export function embedderConfig(env: object): EmbedderConfig {
  let cfg = parsed.get(env);
  if (!cfg) {
    const vars = varsSchema.parse(env);
    // An empty var means "the default", like an absent one.
    cfg = configSchema.parse(Object.fromEntries(VARS.map((k) => [k, vars[k] || undefined])));
    parsed.set(env, cfg);
  }
  return cfg;
}
