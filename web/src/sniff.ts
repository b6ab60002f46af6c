// What the page accepts: jpeg/png/webp by declared type AND by magic bytes. The
// processor sniffs again server-side; this only keeps obvious non-photos off the wire.

export const ACCEPTED = ["image/jpeg", "image/png", "image/webp"] as const;
export type AcceptedType = (typeof ACCEPTED)[number];

/** The server's MAX_UPLOAD_BYTES default (wrangler.toml); a bigger file fails the whole POST. */
export const MAX_UPLOAD_BYTES = 50 * 1024 * 1024;

export function sniffType(head: Uint8Array): AcceptedType | null {
  const b = (i: number) => head[i] ?? -1;
  if (b(0) === 0xff && b(1) === 0xd8 && b(2) === 0xff) return "image/jpeg";
  if (b(0) === 0x89 && b(1) === 0x50 && b(2) === 0x4e && b(3) === 0x47) return "image/png";
  const ascii = (from: number, to: number) => String.fromCharCode(...head.subarray(from, to));
  if (head.length >= 12 && ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "image/webp";
  return null;
}

/** The type a file is uploaded as, or why it is skipped. */
export function classify(
  declared: string,
  size: number,
  head: Uint8Array,
): { ok: true; type: AcceptedType } | { ok: false; reason: string } {
  const type = declared.toLowerCase();
  if (!(ACCEPTED as readonly string[]).includes(type)) {
    return { ok: false, reason: `unsupported type ${type || "(none)"}: only JPEG, PNG, WebP` };
  }
  if (size === 0) return { ok: false, reason: "empty file" };
  if (size > MAX_UPLOAD_BYTES) {
    return {
      ok: false,
      reason: `too big: ${formatBytes(size)} > ${formatBytes(MAX_UPLOAD_BYTES)}`,
    };
  }
  const sniffed = sniffType(head);
  if (sniffed === null) return { ok: false, reason: `not a ${type} file (magic bytes)` };
  if (sniffed !== type)
    return { ok: false, reason: `declared ${type} but the bytes are ${sniffed}` };
  return { ok: true, type: sniffed };
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GB`;
}
