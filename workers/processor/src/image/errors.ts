/** Permanent image failures: retrying cannot help, so the asset fails at once. */
export type ImageErrorCode = "unsupported_format" | "corrupt" | "too_large" | "size_mismatch";

export class ImageError extends Error {
  constructor(
    readonly code: ImageErrorCode,
    message: string,
  ) {
    super(message);
  }
}
