import { z } from "zod";
import { assetStatusSchema } from "../assets";
import { assets } from "../db/schema";
import type { AssetEventInput } from "../events";
import { parseAssetError } from "./failures";

/** The columns every asset write returns: what its event is built from. */
export const eventColumns = {
  id: assets.id,
  userId: assets.userId,
  batchId: assets.batchId,
  status: assets.status,
  version: assets.version,
  error: assets.error,
};

export const eventRowSchema = z.object({
  id: z.string(),
  userId: z.string(),
  batchId: z.string(),
  status: assetStatusSchema,
  version: z.number().int(),
  error: z.string().nullable(),
});
/** What `eventColumns` returns; the schema checks it where a D1 batch hands it back untyped. */
export type EventRow = z.infer<typeof eventRowSchema>;

/** The one event of one write, from the row the write returned. */
export function assetEvent(row: EventRow): AssetEventInput {
  const error = parseAssetError(row.error);
  const event = { assetId: row.id, batchId: row.batchId, status: row.status, version: row.version };
  return error ? { ...event, error } : event;
}

/** The event of a delete: one past the version of the row that was deleted. */
export function deletedEvent(row: {
  id: string;
  batchId: string;
  version: number;
}): AssetEventInput {
  return { assetId: row.id, batchId: row.batchId, status: "deleted", version: row.version + 1 };
}
