import { z } from "zod";
import { assetErrorSchema, assetStatusSchema, statsSchema } from "./assets";

/**
 * An asset transition as a stage publishes it (the hub adds `seq`). `deleted` is not a
 * row state: it tells clients the row is gone (deleted by the user or an expired
 * `pending` removed by the sweeper).
 */
export const eventStatusSchema = z.union([assetStatusSchema, z.literal("deleted")]);

export const assetEventInputSchema = z.object({
  assetId: z.uuid(),
  batchId: z.uuid().nullable(),
  status: eventStatusSchema,
  version: z.number().int().nonnegative(),
  error: assetErrorSchema.nullable().optional(),
});
export type AssetEventInput = z.infer<typeof assetEventInputSchema>;

export const serverFrameSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("hello"), seq: z.number().int(), stats: statsSchema }),
  assetEventInputSchema.extend({ type: z.literal("asset"), seq: z.number().int() }),
  z.object({
    type: z.literal("stats"),
    seq: z.number().int(),
    stats: statsSchema,
    batchId: z.uuid().optional(),
  }),
  z.object({ type: z.literal("reset"), seq: z.number().int() }),
  z.object({
    type: z.literal("error"),
    code: z.string(),
    message: z.string(),
  }),
]);
export type ServerFrame = z.infer<typeof serverFrameSchema>;
export type AssetFrame = Extract<ServerFrame, { type: "asset" }>;

export const clientFrameSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("resume"), since: z.number().int().nonnegative() }),
]);
export type ClientFrame = z.infer<typeof clientFrameSchema>;

/**
 * The close reason of a socket the hub closed for spending its frame budget (code 1008):
 * it says when to reconnect, and the page honours it (web/src/live.ts). One format,
 * written and read here.
 */
export function reconnectReason(retryAfterSeconds: number): string {
  return `Too many frames; reconnect in ${retryAfterSeconds} s`;
}

/** The seconds a `reconnectReason` asks the client to wait, or null for any other reason. */
export function reconnectAfterSeconds(reason: string): number | null {
  const m = /reconnect in (\d+) s$/.exec(reason);
  return m ? Number(m[1]) : null;
}
