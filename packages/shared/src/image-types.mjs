// The image types Darkroom accepts, told apart by their magic bytes only: browsers declare
// `.heic` files as "" or application/octet-stream, so a declared type never decides. Plain
// JavaScript (typed by image-types.d.mts) because the CLI runs it in Node unbuilt and the
// page and the workers bundle it: one policy for all of them.

/** ftyp brands of HEVC-coded HEIF (HEIC); mif1/msf1 are the generic HEIF brands. */
export const HEIC_BRANDS = ["heic", "heix", "hevc", "heim", "heis"];
export const HEIF_BRANDS = ["mif1", "msf1"];
/** ftyp brands of AV1-coded HEIF (AVIF still / sequence). */
export const AVIF_BRANDS = ["avif", "avis"];

export const ACCEPTED_IMAGE_TYPES = [
  "image/jpeg",
  "image/png",
  "image/webp",
  "image/heic",
  "image/heif",
  "image/avif",
  "image/gif",
];

/** The extensions phones and cameras give these types (lower case, with the dot). */
export const PHOTO_EXTENSIONS = [
  ".jpg",
  ".jpeg",
  ".png",
  ".webp",
  ".heic",
  ".heif",
  ".hif",
  ".avif",
  ".gif",
];

/** What a file picker should offer: the types and the extensions phones and cameras use. */
export const IMAGE_ACCEPT_ATTRIBUTE = [...ACCEPTED_IMAGE_TYPES, ...PHOTO_EXTENSIONS].join(",");

/**
 * What browsers declare for a file whose type they do not know (a `.heic` on most
 * systems): no type, or application/octet-stream. Registration takes them for a file
 * named like a photo; the bytes decide what it is after the upload.
 */
export const GENERIC_TYPES = ["", "application/octet-stream"];

/**
 * A name that says photo: a photo extension (any case), or none at all (a camera card's
 * or an export's bare name). Only the last path segment counts.
 * @param {string} name
 */
export function namedLikePhoto(name) {
  const base = name.slice(name.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  if (dot <= 0) return true;
  return PHOTO_EXTENSIONS.includes(base.slice(dot).toLowerCase());
}

/** Bytes of a file's start that sniffImageType needs (an ftyp box lists its brands there). */
export const SNIFF_BYTES = 64;

const ascii = (b, from, to) => String.fromCharCode(...b.subarray(from, Math.min(to, b.length)));

/**
 * The accepted type the first bytes of a file say it is, or null. An ISOBMFF file is HEIF
 * when its ftyp brands say so: AVIF when any brand is avif/avis, else HEIC for the HEVC
 * brands, else generic HEIF (mif1/msf1, decoded as HEIC when its image is HEVC).
 * @param {Uint8Array} head
 */
export function sniffImageType(head) {
  const b = (i) => head[i] ?? -1;
  if (b(0) === 0xff && b(1) === 0xd8 && b(2) === 0xff) return "image/jpeg";
  if (ascii(head, 0, 8) === "\x89PNG\r\n\x1a\n") return "image/png";
  if (ascii(head, 0, 4) === "RIFF" && ascii(head, 8, 12) === "WEBP") return "image/webp";
  if (ascii(head, 0, 6) === "GIF87a" || ascii(head, 0, 6) === "GIF89a") return "image/gif";
  if (head.length >= 12 && ascii(head, 4, 8) === "ftyp") {
    const size = ((b(0) << 24) >>> 0) + (b(1) << 16) + (b(2) << 8) + b(3);
    const end = Math.min(size, head.length);
    const brands = [ascii(head, 8, 12)];
    for (let i = 16; i + 4 <= end; i += 4) brands.push(ascii(head, i, i + 4));
    if (brands.some((x) => AVIF_BRANDS.includes(x))) return "image/avif";
    if (brands.some((x) => HEIC_BRANDS.includes(x))) return "image/heic";
    if (brands.some((x) => HEIF_BRANDS.includes(x))) return "image/heif";
  }
  return null;
}
