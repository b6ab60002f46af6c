import { type AssetStatus, parseAssetError } from "@darkroom/shared";
import type { assets } from "@darkroom/shared/db";
import { z } from "zod";
import { mediaUrl } from "../signing/media";

type Row = typeof assets.$inferSelect;

const variantInfo = z.object({ width: z.number(), height: z.number(), bytes: z.number() });
const captionSkippedSchema = z.object({ code: z.string(), message: z.string() });
const variantsSchema = z.object({
  thumb: variantInfo.optional(),
  preview: variantInfo.optional(),
  // The processor's verdict on the original: its sniffed format, and whether it had more
  // than one frame (an animated GIF's variants show its first).
  source: z
    .object({ format: z.string().max(10), animated: z.boolean() })
    .optional()
    .catch(undefined),
});

function parseJson<T>(raw: string | null, schema: z.ZodType<T>): T | null {
  if (!raw) return null;
  try {
    const r = schema.safeParse(JSON.parse(raw));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

const ORIGINAL_STORED: ReadonlySet<AssetStatus> = new Set([
  "uploaded",
  "processing",
  "processed",
  "embedding",
  "ready",
]);

/** The asset JSON of DESIGN.md; `urls` entries are signed and null until they exist. */
export async function assetJson(row: Row, mediaSecret: string, batchId?: string) {
  const variants = parseJson(row.variants, variantsSchema);
  const error = parseAssetError(row.error);
  const hasOriginal =
    ORIGINAL_STORED.has(row.status) || (row.status === "failed" && error?.stage !== "upload");
  return {
    id: row.id,
    batchId: batchId ?? row.batchId,
    name: row.name,
    size: row.size,
    type: row.type,
    sha256: row.sha256,
    status: row.status,
    version: row.version,
    width: row.width,
    height: row.height,
    takenAt: row.takenAt === null ? null : new Date(row.takenAt).toISOString(),
    camera: { make: row.cameraMake, model: row.cameraModel },
    format: variants?.source?.format ?? null,
    animated: variants?.source?.animated ?? false,
    variants: { thumb: variants?.thumb ?? null, preview: variants?.preview ?? null },
    nearDuplicateOf: row.nearDuplicateOf,
    labels: parseJson(row.labels, z.array(z.string())) ?? [],
    caption: row.caption,
    // Why `caption` is null (AI unbound, paused, out of allocation, model gone, photo
    // refused); null when there is a caption or the photo is not described yet.
    captionSkipped: parseJson(row.captionSkipped, captionSkippedSchema),
    error,
    attempts: row.attempts,
    retries: row.retries,
    urls: {
      original: hasOriginal ? await mediaUrl(mediaSecret, row.id, "original") : null,
      thumb: variants?.thumb ? await mediaUrl(mediaSecret, row.id, "thumb") : null,
      preview: variants?.preview ? await mediaUrl(mediaSecret, row.id, "preview") : null,
    },
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}
