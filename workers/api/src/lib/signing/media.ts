import type { VariantName } from "@darkroom/shared";
import { hmacSign, hmacVerify } from "./hmac";

const HOUR = 3600;

/**
 * Media URLs expire on the hour after at least one hour from now: every URL signed
 * within the same hour is identical, so browsers and the edge can cache it.
 */
export function mediaExpiry(nowMs = Date.now()): number {
  const now = Math.floor(nowMs / 1000);
  return Math.ceil((now + HOUR) / HOUR) * HOUR;
}

function message(assetId: string, variant: VariantName, exp: number): string {
  return ["GET", assetId, variant, exp].join("\n");
}

export async function mediaUrl(
  secret: string,
  assetId: string,
  variant: VariantName,
  nowMs = Date.now(),
): Promise<string> {
  const exp = mediaExpiry(nowMs);
  const sig = await hmacSign(secret, message(assetId, variant, exp));
  return `/api/media/${assetId}/${variant}?exp=${exp}&sig=${sig}`;
}

export function verifyMediaSignature(
  secret: string,
  assetId: string,
  variant: VariantName,
  exp: number,
  sig: string,
): Promise<boolean> {
  return hmacVerify(secret, message(assetId, variant, exp), sig);
}
