import { announceObject, originalKey, storeOfAsset } from "@darkroom/shared";
import { assets } from "@darkroom/shared/db";
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { cors } from "hono/cors";
import uploadCors from "../../../../upload-cors.json";
import {
  BadRequest,
  Forbidden,
  HttpError,
  NotFound,
  PayloadTooLarge,
  PreconditionFailed,
} from "../errors";
import { config } from "../lib/config/config";
import { base64ToHex, hmacVerify } from "../lib/signing/hmac";
import { localSignedMessage } from "../lib/signing/upload-urls";
import type { AppEnv } from "../types";

/**
 * The local stand-in for an R2 presigned PUT (UPLOAD_MODE=local): the same headers, the
 * same CORS answers as the bucket's rule (upload-cors.json), the same refusals, and after a
 * successful write the very message R2's object-create notification would send.
 */
export const localUpload = new Hono<AppEnv>();

// The bucket's rule (upload-cors.json, applied by `npm run deploy` with the origins of
// CORS_ALLOWED_ORIGINS): one rule for R2 and for this stand-in.
const { rule } = uploadCors;

localUpload.use("*", async (c, next) => {
  const allowed = config(c.env).corsOrigins;
  return cors({
    origin: (origin) => (allowed.includes(origin) ? origin : null),
    allowMethods: rule.allowed.methods,
    allowHeaders: rule.allowed.headers,
    exposeHeaders: rule.exposeHeaders,
    maxAge: rule.maxAgeSeconds,
  })(c, next);
});

localUpload.put("/:assetId", async (c) => {
  const cfg = config(c.env);
  if (cfg.UPLOAD_MODE !== "local") throw new NotFound();
  // The body streams into R2 and must equal the signed size (checked below); one longer
  // than any upload may be is refused before the row is even looked up. Not hono's
  // bodyLimit: without a Content-Length it would buffer up to 50 MB in the isolate, and
  // this route refuses such a body (411) without reading it.
  if (Number(c.req.header("Content-Length")) > cfg.MAX_UPLOAD_BYTES) {
    throw new PayloadTooLarge(cfg.MAX_UPLOAD_BYTES);
  }
  const assetId = c.req.param("assetId");
  const exp = Number(c.req.query("exp"));
  const sig = c.req.query("sig") ?? "";
  if (!Number.isInteger(exp) || !sig)
    throw new Forbidden("invalid_signature", "The upload URL is not signed");

  // The URL names the asset, not its owner (its shape is the same as ever): the shard
  // that has the asset answers.
  const store = await storeOfAsset(c.env, assetId);
  const [row] = store
    ? await store.db
        .select({
          userId: assets.userId,
          status: assets.status,
          size: assets.size,
          type: assets.type,
          sha256: assets.sha256,
        })
        .from(assets)
        .where(eq(assets.id, assetId))
    : [];
  // The signature covers the row's declared size, type and hash, so a URL for a row that
  // is gone, re-declared or tampered with fails here alike.
  if (
    !row ||
    !(await hmacVerify(
      c.env.UPLOAD_SIGNING_SECRET,
      localSignedMessage({ assetId, ...row }, exp),
      sig,
    ))
  ) {
    throw new Forbidden("invalid_signature", "The upload URL signature does not match");
  }
  if (exp * 1000 < Date.now())
    throw new Forbidden("url_expired", "The upload URL has expired; ask for a new one");
  if (c.req.header("If-None-Match") !== "*") {
    throw new BadRequest("missing_header", "The upload must send If-None-Match: *");
  }
  const length = c.req.header("Content-Length");
  if (length === undefined)
    throw new HttpError(411, "length_required", "Content-Length is required");
  if (Number(length) !== row.size) {
    throw new BadRequest("size_mismatch", `The body is ${length} bytes; ${row.size} were declared`);
  }
  const type = (c.req.header("Content-Type") ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== row.type) {
    throw new BadRequest("type_mismatch", `The Content-Type must be ${row.type}`);
  }
  const checksum = base64ToHex(c.req.header("x-amz-checksum-sha256") ?? "");
  if (checksum !== row.sha256) {
    throw new BadRequest(
      "checksum_mismatch",
      "x-amz-checksum-sha256 does not match the declared SHA-256",
    );
  }
  const key = originalKey(row.userId, assetId);
  if (row.status !== "pending" || (await c.env.BUCKET.head(key))) {
    throw new PreconditionFailed("already_uploaded", "This file has already been uploaded");
  }
  const body = c.req.raw.body;
  if (!body) throw new BadRequest("size_mismatch", "The body is empty");

  let stored: R2Object | null;
  try {
    // R2 verifies the SHA-256 while it streams and stores nothing on a mismatch;
    // etagDoesNotMatch "*" makes a concurrent second PUT fail instead of overwriting.
    stored = await c.env.BUCKET.put(key, body, {
      sha256: row.sha256,
      httpMetadata: { contentType: row.type },
      onlyIf: { etagDoesNotMatch: "*" },
    });
  } catch (err) {
    const text = String(err);
    if (/digest|checksum|sha-?256/i.test(text)) {
      throw new BadRequest(
        "checksum_mismatch",
        "The bytes do not match the declared SHA-256; nothing was stored",
      );
    }
    if (/length|stream|body/i.test(text)) {
      throw new BadRequest(
        "size_mismatch",
        "The body ended before the declared length; nothing was stored",
      );
    }
    throw err;
  }
  if (!stored)
    throw new PreconditionFailed("already_uploaded", "This file has already been uploaded");

  // The upload stage's message, as R2 would send it (pipeline.ts). Like R2, the write
  // stands even if the notification cannot be sent: the sweeper re-sends it for any
  // `pending` row whose object exists.
  try {
    await announceObject(c.env, key);
  } catch (err) {
    console.warn("notification send failed", { assetId, err: String(err) });
  }
  c.header("ETag", stored.httpEtag);
  return c.body(null, 200);
});
