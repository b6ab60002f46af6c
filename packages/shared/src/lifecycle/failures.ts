import type { AssetError, FailureStage } from "../assets";

/**
 * The one permanent failure: no retry of this message can fix it, so the asset fails
 * with this reason. `stage` is where a user's retry restarts (a missing thumbnail found
 * by the embedder is a `processing` failure). Codec errors (the processor's
 * `ImageError`) become one of these in one place, at the stage's boundary.
 */
export class PermanentFailure extends Error {
  constructor(
    readonly stage: FailureStage,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "PermanentFailure";
  }

  /** The `error` column's JSON. */
  toColumn(): string {
    return failure(this.stage, this.code, this.message);
  }
}

export function failure(stage: FailureStage, code: string, message: string): string {
  return JSON.stringify({ stage, code, message } satisfies AssetError);
}

export function parseAssetError(raw: string | null): AssetError | null {
  if (!raw) return null;
  try {
    const v: unknown = JSON.parse(raw);
    if (v && typeof v === "object" && "stage" in v && "code" in v && "message" in v) {
      const { stage, code, message } = v;
      if (
        (stage === "upload" || stage === "processing" || stage === "embedding") &&
        typeof code === "string" &&
        typeof message === "string"
      ) {
        return { stage, code, message };
      }
    }
  } catch {
    // fall through: a malformed error column is reported as unknown
  }
  return { stage: "processing", code: "unknown", message: "Unknown error" };
}
