import { z } from "zod";

/**
 * The body of an R2 event notification, exactly the fields R2 sends
 * (https://developers.cloudflare.com/r2/buckets/event-notifications/). The local upload
 * route and the sweeper send the same shape, so the processor has one input format.
 */
export const r2NotificationSchema = z.object({
  account: z.string(),
  action: z.enum([
    "PutObject",
    "CopyObject",
    "CompleteMultipartUpload",
    "DeleteObject",
    "LifecycleDeletion",
  ]),
  bucket: z.string(),
  object: z.object({
    key: z.string().min(1).max(1024),
    size: z.number().int().nonnegative().optional(),
    eTag: z.string().optional(),
  }),
  eventTime: z.string(),
  copySource: z.object({ bucket: z.string(), object: z.string() }).optional(),
});
export type R2Notification = z.infer<typeof r2NotificationSchema>;

/**
 * The message R2's object-create notification sends for an object PUT into `bucket`: the
 * api's stand-ins (local upload route, sweeper, retries) and `npm run dev:prod`'s
 * notification bridge build it here, so the processor sees one shape in every world.
 */
export function objectCreatedNotification(
  bucket: string,
  key: string,
  head: { size: number; etag: string },
): R2Notification {
  return {
    account: "local",
    action: "PutObject",
    bucket,
    object: { key, size: head.size, eTag: head.etag },
    eventTime: new Date().toISOString(),
  };
}

/** The processor's message to the embedder. */
export const embedMessageSchema = z.object({
  assetId: z.uuid(),
  uid: z.uuid(),
});
export type EmbedMessage = z.infer<typeof embedMessageSchema>;

/**
 * The sweeper's message to the embedder for a `ready` asset that skipped AI (breaker
 * open, daily allocation used up, model unavailable): describe it again. Same queue as
 * `embed`; the `redescribe` flag tells them apart.
 */
export const redescribeMessageSchema = z.object({
  assetId: z.uuid(),
  uid: z.uuid(),
  redescribe: z.literal(true),
});
export type RedescribeMessage = z.infer<typeof redescribeMessageSchema>;
