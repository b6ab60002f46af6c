import { z } from "zod";
import { acceptedTypeSchema, sha256HexSchema } from "./assets";

export const MAX_FILES_PER_REQUEST = 100;

/** `POST /api/uploads`; the size cap is configuration, so the schema is built from it. */
export function uploadRequestSchema(maxUploadBytes: number) {
  return z.object({
    batchId: z.uuid().optional(),
    files: z
      .array(
        z.object({
          clientId: z.string().min(1).max(200),
          name: z.string().min(1).max(1024),
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
