import { TEXT_DIMENSIONS } from "../src/search/constants";

/**
 * TEST DOUBLE of the Workers AI binding (`env.AI`), for tests only: Workers AI does not
 * run offline. It answers the three models Darkroom calls by default, checks their inputs
 * against the schemas of their catalogue pages, answers in the documented shapes, and
 * fails the way the real binding does. The binding (workerd's `ai-api.ts`) throws an
 * `InferenceUpstreamError` whose message is `"<internal code>: <description>"` when the
 * error answer carries an internal code, or the raw body otherwise; the codes and
 * descriptions are those of https://developers.cloudflare.com/workers-ai/platform/errors/.
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
  /** Image models refuse the image (5004, invalid data: 400); text models answer. */
  | "rejects-image"
  /** The caption model is gone from the catalogue (5007, no such model: 400); others answer. */
  | "caption-model-removed"
  /** Every call fails with 3036 (429: the daily free allocation is used up). */
  | "daily-allocation-exhausted"
  /** The caption model answers an empty caption and the labeller nothing above noise. */
  | "says-nothing";

export type CatalogueEntry = { caption: string; labels: string[] };

/** The models the double answers: the embedder's defaults (workers/embedder/src/config.ts). */
export const AI_TEST_DOUBLE_MODELS = {
  caption: "@cf/moondream/moondream3.1-9B-A2B",
  labels: "@cf/microsoft/resnet-50",
  text: "@cf/baai/bge-base-en-v1.5",
} as const;

/** The errors table's rows the double uses (internal code: description). */
export const AI_ERRORS = {
  outOfCapacity: "3040: No more data centers to forward the request to",
  dailyAllocation:
    "3036: You have used up your daily free allocation of 10,000 neurons. Please upgrade to Cloudflare's Workers Paid plan if you would like to continue usage.",
  invalidData: (type: string) => `5004: Invalid data type for base64 input: ${type}`,
  noSuchModel: (model: string) => `5007: No such model ${model} or task`,
} as const;

class InferenceUpstreamError extends Error {
  override name = "InferenceUpstreamError";
}

const DATA_URI = /^data:image\/(?:webp|jpeg|png);base64,([A-Za-z0-9+/]+={0,2})$/;

export class AiTestDouble {
  /** Models called, in order, with the texts sent to the text model. */
  readonly calls: string[] = [];
  readonly texts: string[] = [];

  constructor(
    private readonly behaviour: AiTestDoubleBehaviour = "ok",
    /** SHA-256 (hex) of an image's bytes → what the models say about it. */
    private readonly catalogue: ReadonlyMap<string, CatalogueEntry> = new Map(),
  ) {}

  async run(model: string, inputs: unknown): Promise<unknown> {
    this.calls.push(model);
    if (this.behaviour === "rate-limited")
      throw new InferenceUpstreamError(AI_ERRORS.outOfCapacity);
    if (this.behaviour === "daily-allocation-exhausted") {
      throw new InferenceUpstreamError(AI_ERRORS.dailyAllocation);
    }
    if (this.behaviour === "upstream-error") {
      throw new InferenceUpstreamError("upstream connect error or disconnect/reset before headers");
    }
    const input = typeof inputs === "object" && inputs !== null ? inputs : {};
    if (model === AI_TEST_DOUBLE_MODELS.text) {
      const raw = "text" in input ? input.text : undefined;
      const texts = Array.isArray(raw) ? raw.map(String) : [String(raw ?? "")];
      // The schema: `text` is a string or at most 100 strings, each `minLength: 1`.
      if (texts.length === 0 || texts.length > 100 || texts.some((t) => t.length === 0)) {
        throw new InferenceUpstreamError("the double refuses what the schema refuses: empty text");
      }
      this.texts.push(...texts);
      return { shape: [texts.length, TEXT_DIMENSIONS], data: texts.map(wordVector) };
    }
    if (model === AI_TEST_DOUBLE_MODELS.caption) {
      if (this.behaviour === "caption-model-removed") {
        throw new InferenceUpstreamError(AI_ERRORS.noSuchModel(model));
      }
      // Moondream: `task: "caption"` needs `image`, a public HTTPS URL or a base64 data URI.
      const task = "task" in input ? input.task : "query";
      const image = "image" in input && typeof input.image === "string" ? input.image : "";
      const m = DATA_URI.exec(image);
      if (task !== "caption" || !m?.[1] || this.behaviour === "rejects-image") {
        throw new InferenceUpstreamError(AI_ERRORS.invalidData(typeof image));
      }
      // Streams by default: this double answers the JSON shape only.
      if (!("stream" in input) || input.stream !== false) {
        throw new Error("the double answers `stream: false` requests only");
      }
      const bytes = Uint8Array.from(atob(m[1]), (c) => c.charCodeAt(0));
      const entry = this.catalogue.get(await sha256Hex(bytes));
      const caption = this.behaviour === "says-nothing" ? "  " : ` ${entry?.caption ?? "a photo"} `;
      return {
        caption,
        finish_reason: "stop",
        metrics: {
          input_tokens: 729,
          output_tokens: 12,
          prefill_time_ms: 9,
          decode_time_ms: 40,
          ttft_ms: 21,
        },
      };
    }
    if (model === AI_TEST_DOUBLE_MODELS.labels) {
      // ResNet-50: `image`, an array of 8-bit unsigned integers.
      const image = "image" in input && Array.isArray(input.image) ? input.image : null;
      if (!image || this.behaviour === "rejects-image") {
        throw new InferenceUpstreamError(AI_ERRORS.invalidData(typeof image));
      }
      if (this.behaviour === "says-nothing") return [{ label: "noise", score: 0.01 }];
      const entry = this.catalogue.get(await sha256Hex(Uint8Array.from(image.map(Number))));
      const labels = entry?.labels ?? [];
      return [
        ...labels.map((label, i) => ({ label: `${label}, other name`, score: 0.8 - i * 0.1 })),
        { label: "noise", score: 0.01 },
      ];
    }
    throw new InferenceUpstreamError(AI_ERRORS.noSuchModel(model));
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
