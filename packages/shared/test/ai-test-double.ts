import { TEXT_DIMENSIONS } from "../src/search/constants";

/**
 * TEST DOUBLE of the Workers AI binding (`env.AI`), for tests only: Workers AI does not
 * run offline. It answers the three models Darkroom calls with the shapes the real ones
 * return, and fails the way the real binding does (`InferenceUpstreamError` whose
 * message is `"<internal code>: <description>"`, or the raw body of a 5xx):
 * - captions and labels come from a catalogue keyed by the SHA-256 of the image bytes
 *   (a double cannot look at a photo), "a photo" otherwise;
 * - text embeddings are bags of hashed words: texts sharing words are close, so a
 *   query for "waterfall" finds a caption that says "waterfall".
 */
export type AiTestDoubleBehaviour =
  /** Every call answers. */
  | "ok"
  /** Every call fails with 3040 (429: out of capacity), as under the per-account rate limit. */
  | "rate-limited"
  /** Every call fails with a 502 from upstream (no JSON body, no internal code). */
  | "upstream-error"
  /** Image models refuse the image (5006, invalid input: 400); text models answer. */
  | "rejects-image";

export type CatalogueEntry = { caption: string; labels: string[] };

export const AI_TEST_DOUBLE_MODELS = {
  caption: "@cf/unum/uform-gen2-qwen-500m",
  labels: "@cf/microsoft/resnet-50",
  text: "@cf/baai/bge-base-en-v1.5",
} as const;

class InferenceUpstreamError extends Error {
  override name = "InferenceUpstreamError";
}

export class AiTestDouble {
  /** Models called, in order. */
  readonly calls: string[] = [];

  constructor(
    private readonly behaviour: AiTestDoubleBehaviour = "ok",
    /** SHA-256 (hex) of an image's bytes → what the models say about it. */
    private readonly catalogue: ReadonlyMap<string, CatalogueEntry> = new Map(),
  ) {}

  async run(model: string, inputs: unknown): Promise<unknown> {
    this.calls.push(model);
    if (this.behaviour === "rate-limited") {
      throw new InferenceUpstreamError("3040: Capacity temporarily exceeded, please try again.");
    }
    if (this.behaviour === "upstream-error") {
      throw new InferenceUpstreamError("upstream connect error or disconnect/reset before headers");
    }
    const input = typeof inputs === "object" && inputs !== null ? inputs : {};
    if (model === AI_TEST_DOUBLE_MODELS.text) {
      const raw = "text" in input ? input.text : undefined;
      const texts = Array.isArray(raw) ? raw.map(String) : [String(raw ?? "")];
      return { shape: [texts.length, TEXT_DIMENSIONS], data: texts.map(wordVector) };
    }
    if (model === AI_TEST_DOUBLE_MODELS.caption || model === AI_TEST_DOUBLE_MODELS.labels) {
      const image = "image" in input && Array.isArray(input.image) ? input.image : null;
      if (!image || this.behaviour === "rejects-image") {
        throw new InferenceUpstreamError("5006: Invalid input: the image could not be decoded");
      }
      const entry = this.catalogue.get(await sha256Hex(Uint8Array.from(image.map(Number))));
      if (model === AI_TEST_DOUBLE_MODELS.caption) {
        return { description: ` ${entry?.caption ?? "a photo"} ` };
      }
      const labels = entry?.labels ?? [];
      return [
        ...labels.map((label, i) => ({ label: `${label}, other name`, score: 0.8 - i * 0.1 })),
        { label: "noise", score: 0.01 },
      ];
    }
    throw new InferenceUpstreamError(`5007: No such model ${model} or task`);
  }
}

/** The double where code wants the binding's type (only `run` is ever called). */
export function asAiBinding(double: AiTestDouble | { run: AiTestDouble["run"] }): Ai {
  return double as unknown as Ai;
}

/** A bag-of-words vector: each word hashed (FNV-1a) to a dimension and a sign. */
export function wordVector(text: string): number[] {
  const v = new Array<number>(TEXT_DIMENSIONS).fill(0);
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    let h = 0x811c9dc5;
    for (let i = 0; i < word.length; i++) {
      h ^= word.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    const i = h % TEXT_DIMENSIONS;
    v[i] = (v[i] ?? 0) + (h & 0x80000000 ? -1 : 1);
  }
  return v;
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
