import { type AiBinding, embedText } from "@darkroom/shared";
import { z } from "zod";

/** Captions: small, fast and cheap; the caption only has to carry words to search by. */
export const CAPTION_MODEL = "@cf/unum/uform-gen2-qwen-500m";
/** ImageNet labels ("seashore, coast, seacoast"): we keep the first name of each. */
export const LABEL_MODEL = "@cf/microsoft/resnet-50";

const CAPTION_PROMPT = "Describe this photo in one sentence.";
const MAX_LABELS = 5;
const MIN_LABEL_SCORE = 0.1;

const captionSchema = z.object({ description: z.string() });
const labelsSchema = z.array(
  z.object({ label: z.string().optional(), score: z.number().optional() }),
);

export type AiDescription = { caption: string; labels: string[]; text: Float32Array };

/**
 * Caption and labels of a thumb from Workers AI, and their semantic vector (the text
 * embedder of search queries, so a query and a caption land in the same space). Errors
 * of the binding propagate as thrown: the caller classifies them (`classifyAiError`).
 */
export async function describeWithAi(ai: AiBinding, thumb: Uint8Array): Promise<AiDescription> {
  const image = Array.from(thumb);
  const [captionOut, labelsOut] = await Promise.all([
    ai.run(CAPTION_MODEL, { image, prompt: CAPTION_PROMPT, max_tokens: 64 }),
    ai.run(LABEL_MODEL, { image }),
  ]);
  const caption = captionSchema
    .parse(captionOut)
    .description.replace(/\s+/g, " ")
    .trim()
    .slice(0, 300);
  const labels = [
    ...new Set(
      labelsSchema
        .parse(labelsOut)
        .filter((l) => (l.score ?? 0) >= MIN_LABEL_SCORE && l.label)
        .sort((a, b) => (b.score ?? 0) - (a.score ?? 0))
        .map((l) => (l.label ?? "").split(",")[0]?.trim().toLowerCase() ?? "")
        .filter(Boolean),
    ),
  ].slice(0, MAX_LABELS);
  const text = await embedText(ai, [caption, labels.join(", ")].filter(Boolean).join(". "));
  return { caption, labels, text };
}
