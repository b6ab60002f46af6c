import {
  type AiFailure,
  aiBreaker,
  type BreakerOutcome,
  classifyAiError,
  embedText,
} from "@darkroom/shared";
import { z } from "zod";
import { embedderConfig } from "./config";
import { captionOf, describedText, labelsOf, UnexpectedAiOutput } from "./describe-with-ai";

/** Why a photo has no caption (the asset JSON's `captionSkipped`). */
export type SkipReason = { code: string; message: string };

/** What AI said about a photo, and what it could not say. */
export type PhotoDescription = {
  caption: string | null;
  captionSkipped: SkipReason | null;
  /** ImageNet labels (AI); colour names are added by the caller. */
  labels: string[];
  /** The semantic vector of caption and labels; null when there was nothing to embed. */
  text: Float32Array | null;
  /** Part of the description was skipped for a reason that may pass: describe it again later. */
  redescribe: boolean;
};

/** An AI failure that a retry of the message may fix: the queue retries with backoff. */
export class TransientAiFailure extends Error {
  override name = "TransientAiFailure";
}

type Failure = AiFailure | { kind: "bad-output"; code: null; message: string };

function classify(err: unknown): Failure {
  // embedText parses the embedder's answer with zod: a wrong shape is no transient fault.
  if (err instanceof z.ZodError) {
    return { kind: "bad-output", code: null, message: z.prettifyError(err).slice(0, 500) };
  }
  if (err instanceof UnexpectedAiOutput)
    return { kind: "bad-output", code: null, message: err.message };
  return classifyAiError(err);
}

/** The asset JSON's reason for each failure class (docs/operations.md lists them). */
function reasonFor(f: Failure): SkipReason {
  const detail = `Workers AI: ${f.message}`.slice(0, 300);
  switch (f.kind) {
    case "exhausted":
      return {
        code: "ai_daily_allocation_exhausted",
        message: `The daily Workers AI allocation is used up; the photo will be described later. ${detail}`,
      };
    case "unavailable":
      return {
        code: "ai_model_unavailable",
        message: `The captioning model is unavailable (removed, misnamed or not allowed for the account); the photo will be described once it answers. ${detail}`,
      };
    case "bad-output":
      return {
        code: "ai_bad_output",
        message: `The captioning model answered in an unexpected shape. ${detail}`,
      };
    case "rejected-input":
      return {
        code: "ai_rejected_image",
        message: `The AI models could not read this photo. ${detail}`,
      };
    case "transient":
      return { code: "ai_transient", message: detail };
  }
}

const NOT_BOUND: SkipReason = {
  code: "ai_not_bound",
  message:
    "This deployment has no Workers AI binding; photos are found by name, camera, date, labels and colour",
};
const PAUSED: SkipReason = {
  code: "ai_paused",
  message:
    "AI captioning is paused after repeated failures; the photo will be described when it resumes",
};
const EMPTY_CAPTION: SkipReason = {
  code: "caption_empty",
  message: "The captioning model found nothing to say about this photo",
};

function without(reason: SkipReason, redescribe: boolean): PhotoDescription {
  return { caption: null, captionSkipped: reason, labels: [], text: null, redescribe };
}

/** A failure that counts against the provider (a refused photo does not). */
function countsAgainstProvider(f: Failure): boolean {
  return f.kind !== "rejected-input";
}

/**
 * The AI part of making a photo searchable, behind the deployment's circuit breaker:
 * - breaker open: no call, the photo goes on without AI and is marked for a re-describe;
 * - a transient failure (429 out of capacity, timeout, 5xx, network) throws
 *   `TransientAiFailure`: the message is retried with backoff;
 * - the daily allocation (3036), a removed or refused model, an unexpected answer: the
 *   photo goes on without what failed, with the reason, marked for a re-describe;
 * - a refused photo or an empty caption: without a caption, for good.
 * Every call's outcome is reported to the breaker once (the probe's decides its state).
 */
export async function describePhoto(
  env: Env,
  assetId: string,
  thumb: Uint8Array,
): Promise<PhotoDescription> {
  if (!env.AI) return without(NOT_BOUND, false);
  const ai = env.AI;
  const models = embedderConfig(env);
  const breaker = aiBreaker(env.AI_BREAKER);
  const decision = await breaker.acquire().catch((err: unknown) => {
    // The breaker is advice: when it cannot be reached, the call is made.
    console.warn("embed: the AI breaker is unreachable", String(err));
    return "call" as const;
  });
  if (decision === "skip") return without(PAUSED, true);

  const failures: Failure[] = [];
  try {
    const [captionResult, labelsResult] = await Promise.allSettled([
      captionOf(ai, models, thumb),
      labelsOf(ai, models, thumb),
    ]);
    const captionFailure =
      captionResult.status === "rejected" ? classify(captionResult.reason) : null;
    const labelsFailure = labelsResult.status === "rejected" ? classify(labelsResult.reason) : null;
    for (const f of [captionFailure, labelsFailure]) if (f) failures.push(f);
    const transient = failures.find((f) => f.kind === "transient");
    if (transient) throw new TransientAiFailure(transient.message);

    const said = captionResult.status === "fulfilled" ? captionResult.value : null;
    const caption = said ? said : null;
    const labels = labelsResult.status === "fulfilled" ? labelsResult.value : [];
    const captionSkipped = captionFailure
      ? reasonFor(captionFailure)
      : caption === null
        ? EMPTY_CAPTION
        : null;

    // The embedder refuses "" (`minLength: 1`): with neither caption nor labels there is
    // no semantic vector; the photo is still found by its words and its look.
    const words = describedText(caption, labels);
    let text: Float32Array | null = null;
    if (words !== "") {
      try {
        text = await embedText(ai, words, models.AI_TEXT_EMBEDDING_MODEL);
      } catch (err) {
        const f = classify(err);
        failures.push(f);
        if (f.kind === "transient") throw new TransientAiFailure(f.message);
      }
    }
    const redescribe = failures.some((f) => f.kind !== "rejected-input");
    if (failures.length > 0 || text === null) {
      console.warn(
        JSON.stringify({
          event: "embed_ai_partial",
          assetId,
          captionSkipped: captionSkipped?.code ?? null,
          textVector: text === null ? (words === "" ? "nothing to embed" : "failed") : "ok",
          failures: failures.map((f) => ({ kind: f.kind, code: f.code })),
          redescribe,
        }),
      );
    }
    return { caption, captionSkipped, labels, text, redescribe };
  } finally {
    const against = failures.find(countsAgainstProvider);
    const outcome: BreakerOutcome = against
      ? {
          ok: false,
          code: against.code === null ? against.kind : String(against.code),
          message: against.message,
        }
      : { ok: true };
    try {
      await breaker.record(outcome);
    } catch (err) {
      // The breaker is advice: its outage must not fail the photo.
      console.warn("embed: could not report to the AI breaker", String(err));
    }
  }
}
