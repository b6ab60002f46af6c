import {
  originalKey,
  SNIFF_BYTES,
  sniffImageType,
  storeOfAsset,
  variantKey,
  variantNameSchema,
} from "@darkroom/shared";
import { assets } from "@darkroom/shared/db";
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { Forbidden, HttpError, NotFound } from "../errors";
import { verifyMediaSignature } from "../lib/signing/media";
import type { AppEnv } from "../types";

const params = z.object({ assetId: z.uuid(), variant: variantNameSchema });

/**
 * Signed media: no bearer token (so <img> works), an HMAC over asset, variant and an
 * hour-rounded expiry. Bytes are served only as the image type they sniff as, never as
 * what the uploader declared, sandboxed and with nosniff.
 */
export const mediaRoutes = new Hono<AppEnv>().get("/:assetId/:variant", async (c) => {
  const p = params.safeParse(c.req.param());
  if (!p.success) throw new NotFound();
  const { assetId, variant } = p.data;
  const exp = Number(c.req.query("exp"));
  const sig = c.req.query("sig") ?? "";
  if (
    !Number.isInteger(exp) ||
    !(await verifyMediaSignature(c.env.MEDIA_SIGNING_SECRET, assetId, variant, exp, sig))
  ) {
    throw new Forbidden("invalid_signature", "The media URL signature does not match");
  }
  const now = Math.floor(Date.now() / 1000);
  if (exp < now) throw new Forbidden("url_expired", "The media URL has expired");
  // The URL names the asset, not its owner: the shard that has it answers.
  const store = await storeOfAsset(c.env, assetId);
  const [row] = store
    ? await store.db
        .select({ userId: assets.userId, status: assets.status })
        .from(assets)
        .where(eq(assets.id, assetId))
    : [];
  if (!row || row.status === "deleting") throw new NotFound();
  // A valid signature was issued to the asset's owner: the request is theirs (its time
  // is recorded, lib/http/request-latency.ts; an unsigned request records nothing).
  c.set("uid", row.userId);
  const key =
    variant === "original"
      ? originalKey(row.userId, assetId)
      : variantKey(row.userId, assetId, variant);
  const head = await c.env.BUCKET.get(key, { range: { offset: 0, length: SNIFF_BYTES } });
  if (!head) throw new NotFound();
  const type = sniffImageType(new Uint8Array(await head.arrayBuffer()));
  if (!type)
    throw new HttpError(
      415,
      "unsupported_media",
      "This file is not a JPEG, PNG, WebP, HEIC, AVIF or GIF image",
    );
  const cacheHeaders = {
    ETag: head.httpEtag,
    "Cache-Control": `private, max-age=${exp - now}`,
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox",
  };
  if (c.req.header("If-None-Match") === head.httpEtag) return c.body(null, 304, cacheHeaders);
  const obj = await c.env.BUCKET.get(key);
  if (!obj) throw new NotFound();
  return c.body(obj.body, 200, {
    ...cacheHeaders,
    "Content-Type": type,
    "Content-Length": String(obj.size),
  });
});
