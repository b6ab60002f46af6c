import { z } from "zod";
import { acceptedTypeSchema, sha256HexSchema } from "./assets";
import { MAX_CLIENT_ID_LENGTH } from "./client/request-ids.js";
import { GENERIC_TYPES, namedLikePhoto, PHOTO_EXTENSIONS } from "./image-types.mjs";

export { MAX_CLIENT_ID_LENGTH };

export const MAX_FILES_PER_REQUEST = 100;
/** A browser folder drop sends the relative path (web/src/upload/registration.ts keeps its last 1024). */
export const MAX_FILE_NAME_LENGTH = 1024;
/** The longest `size` in decimal: MAX_UPLOAD_BYTES is configuration, a safe integer at most. */
const MAX_SIZE_DIGITS = String(Number.MAX_SAFE_INTEGER).length;

/** The type a file declared without an image type is kept as, and its PUT must send. */
export const GENERIC_PUT_TYPE = "application/octet-stream";
const isGeneric = (t: string): boolean => (GENERIC_TYPES as readonly string[]).includes(t);
const PHOTO_EXTENSIONS_TEXT = `${PHOTO_EXTENSIONS.slice(0, 4).join(", ")}, …`;

/**
 * A file's declared type: one of the accepted image types, or what browsers declare for
 * a type they do not know ("" or application/octet-stream, as for most `.heic` files),
 * taken for a file named like a photo. The declared type never decides what a file is
 * (the processor sniffs its bytes); it is what the signed PUT binds, so a generic one is
 * kept as application/octet-stream and the PUT sends exactly that.
 */
const declaredTypeSchema = z.union([acceptedTypeSchema, z.enum(GENERIC_TYPES)]);
const DECLARED_TYPE_MAX_LENGTH = Math.max(
  ...[...acceptedTypeSchema.options, ...GENERIC_TYPES].map((t) => t.length),
);

/**
 * The largest body a valid `POST /api/uploads` can have, so the route refuses anything
 * bigger (413) before reading it. As `JSON.stringify` writes the largest valid request:
 *
 * - envelope `{"batchId":"<36>","files":[` … `]}`: 12 + 36 + 11 + 2 = 61 bytes;
 * - per file `{"clientId":"…","name":"…","size":…,"type":"…","sha256":"…"},`: 56 bytes
 *   of punctuation and keys, type ≤ 24 ("application/octet-stream"), sha256 64, size ≤ 16 digits,
 *   and the two strings at 6 bytes per UTF-16 unit (the worst JSON encoding: a control
 *   character or a lone surrogate is written `\uXXXX`; any other unit is ≤ 3 bytes of
 *   UTF-8): 6 × (200 + 1024) = 7,344. 56 + 24 + 64 + 16 + 7,344 = 7,504 bytes;
 * - 100 files: 750,400 + 61 = 750,461 bytes, rounded up to 768 KiB (786,432): the
 *   ~36 KB left over is room for a pretty-printing client's whitespace (JSON with a
 *   2-space indent adds ~70 bytes a file).
 */
export const UPLOAD_REQUEST_MAX_BYTES = (() => {
  const envelope = '{"batchId":"","files":[]}'.length + 36;
  const perFile =
    '{"clientId":"","name":"","size":,"type":"","sha256":""},'.length +
    DECLARED_TYPE_MAX_LENGTH +
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
        z
          .object({
            clientId: z.string().min(1).max(MAX_CLIENT_ID_LENGTH),
            name: z.string().min(1).max(MAX_FILE_NAME_LENGTH),
            size: z.number().int().min(1).max(maxUploadBytes),
            type: declaredTypeSchema,
            sha256: sha256HexSchema,
          })
          .refine((f) => !isGeneric(f.type) || namedLikePhoto(f.name), {
            path: ["type"],
            message: `a file without an image type must be named like a photo (${PHOTO_EXTENSIONS_TEXT})`,
          })
          .transform((f) => (isGeneric(f.type) ? { ...f, type: GENERIC_PUT_TYPE } : f)),
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
