import type { AiBinding } from "@darkroom/shared";
import { z } from "zod";
import type { EmbedderConfig } from "./config";

const MAX_LABELS = 5;
const MIN_LABEL_SCORE = 0.1;
const MAX_CAPTION_CHARS = 300;

/** A model answered, but not in the shape its catalogue page documents. */
export class UnexpectedAiOutput extends Error {
  override name = "UnexpectedAiOutput";
  constructor(model: string, issues: string) {
    super(`${model} answered in an unexpected shape: ${issues}`.slice(0, 500));
  }
}

function parseOutput<T>(model: string, schema: z.ZodType<T>, output: unknown): T {
  const r = schema.safeParse(output);
  if (!r.success) throw new UnexpectedAiOutput(model, z.prettifyError(r.error));
  return r.data;
}

// Moondream 3.1 (https://developers.cloudflare.com/workers-ai/models/moondream3.1-9B-A2B/):
// `caption` is a string for the `caption` task ("Null for other tasks"), next to the
// required `finish_reason` and `metrics`, which we do not use.
const captionSchema = z.object({ caption: z.string().nullish() });
// ResNet-50 (https://developers.cloudflare.com/workers-ai/models/resnet-50/): an array of
// `{ label, score }`, both optional in the schema. ImageNet labels ("seashore, coast,
// seacoast"): we keep the first name of each.
const labelsSchema = z.array(
  z.object({ label: z.string().optional(), score: z.number().optional() }),
);

/**
 * The caption request. Moondream takes the image as "a public HTTPS URL or base64 data
 * URI" (not the byte array older image-to-text models took), streams unless told not
 * to (`stream` defaults to true), and runs the `query` task by default. Our thumbs are
 * WebP, at most 320 px on the long edge (tens of KB), far below any request limit.
 */
export function captionInput(thumb: Uint8Array) {
  return {
    task: "caption",
    image: `data:image/webp;base64,${base64(thumb)}`,
    caption_length: "short",
    stream: false,
    max_tokens: 64,
  } as const;
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  // In slices: String.fromCharCode takes its bytes as arguments.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** The caption of a thumb: one line of words to search by; "" when the model said nothing. */
export async function captionOf(
  ai: AiBinding,
  models: EmbedderConfig,
  thumb: Uint8Array,
): Promise<string> {
  const model = models.AI_CAPTION_MODEL;
  const out = parseOutput(model, captionSchema, await ai.run(model, captionInput(thumb)));
  return (out.caption ?? "").replace(/\s+/g, " ").trim().slice(0, MAX_CAPTION_CHARS);
}

/** Up to five ImageNet labels of a thumb, most likely first. */
export async function labelsOf(
  ai: AiBinding,
  models: EmbedderConfig,
  thumb: Uint8Array,
): Promise<string[]> {
  const model = models.AI_LABEL_MODEL;
  // ResNet-50 takes "an array of integers … constrained to 8-bit unsigned integer values".
  const out = parseOutput(model, labelsSchema, await ai.run(model, { image: Array.from(thumb) }));
  return [
    ...new Set(
      out
        .filter((l) => (l.score ?? 0) >= MIN_LABEL_SCORE && l.label)
        .sort((a, b) => (b.score ?? 0) - (a.score ?? 0))
        .map((l) => (l.label ?? "").split(",")[0]?.trim().toLowerCase() ?? "")
        .filter(Boolean),
    ),
  ].slice(0, MAX_LABELS);
}

/** The text the semantic vector is made of: what the models said, "" when nothing. */
export function describedText(caption: string | null, labels: readonly string[]): string {
  return [caption ?? "", labels.join(", ")].filter((s) => s.trim() !== "").join(". ");
}
