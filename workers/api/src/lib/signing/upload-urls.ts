import type { UploadTicket } from "@darkroom/shared";
import { AwsClient } from "aws4fetch";
import { type Config, UPLOAD_URL_TTL_SECONDS } from "../config/config";
import { hexToBase64, hmacSign, hmacVerify } from "./hmac";

export type UploadTarget = {
  assetId: string;
  key: string;
  type: string;
  size: number;
  sha256: string;
};

/** The headers the client must send with its PUT (Content-Length is set by the client). */
function putHeaders(t: UploadTarget): Record<string, string> {
  return {
    "Content-Type": t.type,
    "x-amz-checksum-sha256": hexToBase64(t.sha256),
    "If-None-Match": "*",
  };
}

/** What a local upload URL's signature covers: everything the PUT must match. */
export function localSignedMessage(t: Omit<UploadTarget, "key">, exp: number): string {
  return ["PUT", t.assetId, t.type, t.size, t.sha256, exp].join("\n");
}

export function verifyLocalSignature(
  secret: string,
  t: Omit<UploadTarget, "key">,
  exp: number,
  sig: string,
): Promise<boolean> {
  return hmacVerify(secret, localSignedMessage(t, exp), sig);
}

/**
 * The bucket's S3 endpoint (path-style, bucket in the path): R2_S3_ENDPOINT when set
 * (wrangler dev's local S3 endpoint in the production-path tests), else the account's
 * endpoint, in the bucket's jurisdiction when R2_JURISDICTION names one
 * (`https://<account>.eu.r2.cloudflarestorage.com`; both forms:
 * https://developers.cloudflare.com/r2/api/tokens/).
 */
export function s3Endpoint(cfg: Config): string | null {
  if (cfg.R2_S3_ENDPOINT) return cfg.R2_S3_ENDPOINT.replace(/\/+$/, "");
  if (!cfg.R2_ACCOUNT_ID) return null;
  const jurisdiction = cfg.R2_JURISDICTION ? `.${cfg.R2_JURISDICTION}` : "";
  return `https://${cfg.R2_ACCOUNT_ID}${jurisdiction}.r2.cloudflarestorage.com`;
}

const R2_SIGNING_MISSING =
  "r2 upload mode needs R2_ACCOUNT_ID (or R2_S3_ENDPOINT), R2_ACCESS_KEY_ID and R2_SECRET_ACCESS_KEY";

/** Misconfiguration must fail before anything is written, never as unsigned URLs. */
export function assertUploadSigning(env: Env, cfg: Config): void {
  if (
    cfg.UPLOAD_MODE === "r2" &&
    (!s3Endpoint(cfg) || !env.R2_ACCESS_KEY_ID || !env.R2_SECRET_ACCESS_KEY)
  ) {
    throw new Error(R2_SIGNING_MISSING);
  }
  if (cfg.UPLOAD_MODE === "local" && !env.UPLOAD_SIGNING_SECRET) {
    throw new Error("local upload mode needs UPLOAD_SIGNING_SECRET");
  }
}

/**
 * Signs a PUT for one original. `r2` mode presigns an S3 PutObject straight to the
 * bucket (SigV4 via aws4fetch, every header signed); `local` mode points at this
 * worker's own route, which enforces the same rules.
 */
export async function signUpload(
  env: Env,
  cfg: Config,
  requestOrigin: string,
  target: UploadTarget,
  now = Date.now(),
): Promise<UploadTicket> {
  const exp = Math.floor(now / 1000) + UPLOAD_URL_TTL_SECONDS;
  const expiresAt = new Date(exp * 1000).toISOString();
  const headers = putHeaders(target);
  if (cfg.UPLOAD_MODE === "r2") {
    const endpoint = s3Endpoint(cfg);
    if (!endpoint || !env.R2_ACCESS_KEY_ID || !env.R2_SECRET_ACCESS_KEY) {
      throw new Error(R2_SIGNING_MISSING);
    }
    const client = new AwsClient({
      accessKeyId: env.R2_ACCESS_KEY_ID,
      secretAccessKey: env.R2_SECRET_ACCESS_KEY,
      service: "s3",
      region: "auto",
    });
    const url = new URL(`${endpoint}/${cfg.R2_BUCKET_NAME}/${target.key}`);
    url.searchParams.set("X-Amz-Expires", String(UPLOAD_URL_TTL_SECONDS));
    const signed = await client.sign(
      new Request(url, {
        method: "PUT",
        headers: { ...headers, "Content-Length": String(target.size) },
      }),
      { aws: { signQuery: true, allHeaders: true, datetime: isoBasic(now) } },
    );
    return { url: signed.url, method: "PUT", headers, expiresAt };
  }
  const origin = cfg.LOCAL_UPLOAD_ORIGIN || requestOrigin;
  const sig = await hmacSign(env.UPLOAD_SIGNING_SECRET, localSignedMessage(target, exp));
  const url = new URL(`/api/local-upload/${target.assetId}`, origin);
  url.searchParams.set("exp", String(exp));
  url.searchParams.set("sig", sig);
  return { url: url.toString(), method: "PUT", headers, expiresAt };
}

function isoBasic(ms: number): string {
  return new Date(ms).toISOString().replace(/[:-]|\.\d{3}/g, "");
}
