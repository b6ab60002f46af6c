import { z } from "zod";
import { acceptedTypeSchema, sha256HexSchema } from "./assets";
import { MAX_CLIENT_ID_LENGTH } from "./client/request-ids.js";

export { MAX_CLIENT_ID_LENGTH };

export const MAX_FILES_PER_REQUEST = 100;
/** A browser folder drop sends the relative path (web/src/uploader.ts keeps its last 1024). */
export const MAX_FILE_NAME_LENGTH = 1024;
/** The longest `size` in decimal: MAX_UPLOAD_BYTES is configuration, a safe integer at most. */
const MAX_SIZE_DIGITS = String(Number.MAX_SAFE_INTEGER).length;

/**
 * The largest body a valid `POST /api/uploads` can have, so the route refuses anything
 * bigger (413) before reading it. As `JSON.stringify` writes the largest valid request:
 *
 * - envelope `{"batchId":"<36>","files":[` … `]}`: 12 + 36 + 11 + 2 = 61 bytes;
 * - per file `{"clientId":"…","name":"…","size":…,"type":"…","sha256":"…"},`: 56 bytes
 *   of punctuation and keys, type ≤ 10 ("image/jpeg"), sha256 64, size ≤ 16 digits,
 *   and the two strings at 6 bytes per UTF-16 unit (the worst JSON encoding: a control
 *   character or a lone surrogate is written `\uXXXX`; any other unit is ≤ 3 bytes of
 *   UTF-8): 6 × (200 + 1024) = 7,344. 56 + 10 + 64 + 16 + 7,344 = 7,490 bytes;
 * - 100 files: 749,000 + 61 = 749,061 bytes, rounded up to 768 KiB (786,432): the
 *   ~37 KB left over is room for a pretty-printing client's whitespace (JSON with a
 *   2-space indent adds ~70 bytes a file).
 */
export const UPLOAD_REQUEST_MAX_BYTES = (() => {
  const envelope = '{"batchId":"","files":[]}'.length + 36;
  const perFile =
    '{"clientId":"","name":"","size":,"type":"","sha256":""},'.length +
    "image/jpeg".length +
    64 +
    MAX_SIZE_DIGITS +
    6 * (MAX_CLIENT_ID_LENGTH + MAX_FILE_NAME_LENGTH);
  const exact = envelope + MAX_FILES_PER_REQUEST * perFile;
  return Math.ceil(exact / (256 * 1024)) * 256 * 1024;
})();

/** `POST /api/uploads`; the size cap is configuration, so the schema is built from it. */
export function uploadRequestSchema(maxUploadBytes: number) {
  return z.object({
    batchId: z.uuid().optional(),
    files: z
      .array(
        z.object({
          clientId: z.string().min(1).max(MAX_CLIENT_ID_LENGTH),
          name: z.string().min(1).max(MAX_FILE_NAME_LENGTH),
          size: z.number().int().min(1).max(maxUploadBytes),
          type: acceptedTypeSchema,
          sha256: sha256HexSchema,
        }),
      )
      .min(1)
      .max(MAX_FILES_PER_REQUEST),
  });
}
export type UploadRequest = z.infer<ReturnType<typeof uploadRequestSchema>>;

export type UploadTicket = {
  url: string;
  method: "PUT";
  headers: Record<string, string>;
  expiresAt: string;
};

export type UploadResponse = {
  batchId: string;
  files: Array<{
    clientId: string;
    assetId: string;
    status: "upload" | "duplicate";
    upload?: UploadTicket;
  }>;
};

export type ErrorBody = { error: { code: string; message: string; details?: unknown } };
