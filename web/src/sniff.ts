// What the page accepts: the file's magic bytes decide (packages/shared/src/image-types.mjs,
// the same rule as the API's and the CLI's); the declared type never does, since browsers
// declare `.heic` as "" or application/octet-stream. The processor sniffs again
// server-side; this only keeps obvious non-photos off the wire.
import {
  ACCEPTED_IMAGE_TYPES,
  type AcceptedImageType,
  IMAGE_ACCEPT_ATTRIBUTE,
  SNIFF_BYTES,
  sniffImageType,
} from "@darkroom/shared/image-types";

export const ACCEPTED = ACCEPTED_IMAGE_TYPES;
export type AcceptedType = AcceptedImageType;
/** The file pickers' `accept`: types and extensions (a .heic often has no type at all). */
export const ACCEPT_ATTRIBUTE = IMAGE_ACCEPT_ATTRIBUTE;
/** How many bytes of a file's start `classify` needs. */
export const HEAD_BYTES = SNIFF_BYTES;

/** The server's MAX_UPLOAD_BYTES default (wrangler.toml); a bigger file fails the whole POST. */
export const MAX_UPLOAD_BYTES = 50 * 1024 * 1024;

export function sniffType(head: Uint8Array): AcceptedType | null {
  return sniffImageType(head);
}

/** The type a file is uploaded as (what its bytes are), or why it is skipped. */
export function classify(
  declared: string,
  size: number,
  head: Uint8Array,
): { ok: true; type: AcceptedType } | { ok: false; reason: string } {
  if (size === 0) return { ok: false, reason: "empty file" };
  if (size > MAX_UPLOAD_BYTES) {
    return {
      ok: false,
      reason: `too big: ${formatBytes(size)} > ${formatBytes(MAX_UPLOAD_BYTES)}`,
    };
  }
  const sniffed = sniffType(head);
  if (sniffed === null) {
    return {
      ok: false,
      reason: `unsupported type ${declared.toLowerCase() || "(none)"}: only JPEG, PNG, WebP, HEIC/HEIF, AVIF, GIF`,
    };
  }
  return { ok: true, type: sniffed };
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GB`;
}
