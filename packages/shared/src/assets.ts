import { z } from "zod";
import { ACCEPTED_IMAGE_TYPES } from "./image-types.mjs";

/** Asset lifecycle of DESIGN.md; `deleting` is a tombstone while a delete runs. */
export const assetStatuses = [
  "pending",
  "uploaded",
  "processing",
  "processed",
  "embedding",
  "ready",
  "failed",
  "deleting",
] as const;
export const assetStatusSchema = z.enum(assetStatuses);
export type AssetStatus = z.infer<typeof assetStatusSchema>;

/** The stage an error happened in, which is also the stage a retry restarts. */
export const failureStages = ["upload", "processing", "embedding"] as const;
export const failureStageSchema = z.enum(failureStages);
export type FailureStage = z.infer<typeof failureStageSchema>;

export const assetErrorSchema = z.object({
  stage: failureStageSchema,
  code: z.string(),
  message: z.string(),
});
export type AssetError = z.infer<typeof assetErrorSchema>;

/** Declared types the API accepts; the bytes decide what a file is (image-types.mjs). */
export const acceptedTypes = ACCEPTED_IMAGE_TYPES;
export const acceptedTypeSchema = z.enum(acceptedTypes);

export const sha256HexSchema = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/, "must be 64 hexadecimal characters")
  .transform((s) => s.toLowerCase());

export const variantNames = ["original", "thumb", "preview"] as const;
export const variantNameSchema = z.enum(variantNames);
export type VariantName = z.infer<typeof variantNameSchema>;

export const statsSchema = z.object({
  total: z.number().int(),
  pending: z.number().int(),
  uploaded: z.number().int(),
  processing: z.number().int(),
  processed: z.number().int(),
  embedding: z.number().int(),
  ready: z.number().int(),
  failed: z.number().int(),
});
export type StatusCounts = z.infer<typeof statsSchema>;

export function emptyStats(): StatusCounts {
  return {
    total: 0,
    pending: 0,
    uploaded: 0,
    processing: 0,
    processed: 0,
    embedding: 0,
    ready: 0,
    failed: 0,
  };
}
