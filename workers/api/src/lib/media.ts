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

/** The type the bytes say they are; only these three are ever served. */
export function sniffImageType(
  bytes: Uint8Array,
): "image/jpeg" | "image/png" | "image/webp" | null {
  const b = (i: number) => bytes[i] ?? -1;
  if (b(0) === 0xff && b(1) === 0xd8 && b(2) === 0xff) return "image/jpeg";
  if (
    b(0) === 0x89 &&
    b(1) === 0x50 &&
    b(2) === 0x4e &&
    b(3) === 0x47 &&
    b(4) === 0x0d &&
    b(5) === 0x0a &&
    b(6) === 0x1a &&
    b(7) === 0x0a
  ) {
    return "image/png";
  }
  if (
    b(0) === 0x52 &&
    b(1) === 0x49 &&
    b(2) === 0x46 &&
    b(3) === 0x46 &&
    b(8) === 0x57 &&
    b(9) === 0x45 &&
    b(10) === 0x42 &&
    b(11) === 0x50
  ) {
    return "image/webp";
  }
  return null;
}
