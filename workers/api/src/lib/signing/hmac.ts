// HMAC-SHA256 signatures for the URLs this worker issues (local uploads, media).
const enc = new TextEncoder();

async function key(secret: string): Promise<CryptoKey> {
  if (!secret) throw new Error("signing secret is not configured");
  return crypto.subtle.importKey(
    "raw",
    enc.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
}

function toBase64Url(bytes: ArrayBuffer): string {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64Url(s: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) return null;
  try {
    const b = atob(s.replaceAll("-", "+").replaceAll("_", "/"));
    return Uint8Array.from(b, (c) => c.charCodeAt(0));
  } catch {
    // A length no base64 can have: not a signature of ours.
    return null;
  }
}

export async function hmacSign(secret: string, message: string): Promise<string> {
  return toBase64Url(await crypto.subtle.sign("HMAC", await key(secret), enc.encode(message)));
}

/** Constant-time check (crypto.subtle.verify) of a base64url signature. */
export async function hmacVerify(secret: string, message: string, sig: string): Promise<boolean> {
  const bytes = fromBase64Url(sig);
  // atob ignores the unused low bits of the last character, so several strings decode to
  // the same bytes; only the one encoding we issue is a signature of ours.
  if (!bytes || toBase64Url(bytes.buffer as ArrayBuffer) !== sig) return false;
  return crypto.subtle.verify("HMAC", await key(secret), bytes, enc.encode(message));
}

export function hexToBase64(hex: string): string {
  let s = "";
  for (let i = 0; i < hex.length; i += 2)
    s += String.fromCharCode(Number.parseInt(hex.slice(i, i + 2), 16));
  return btoa(s);
}

export function base64ToHex(b64: string): string | null {
  try {
    const bin = atob(b64);
    return Array.from(bin, (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");
  } catch {
    return null;
  }
}
