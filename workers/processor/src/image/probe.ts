import { GifError, readGifHeader } from "../codecs/gif";
import { ImageError } from "./errors";
import { type HeifProbe, heifKind, probeHeif } from "./probe-heif";

export type ImageFormat = "jpeg" | "png" | "webp" | "heic" | "avif" | "gif";

export type Probe = {
  format: ImageFormat;
  width: number;
  height: number;
  /**
   * JPEG: progressive scans keep the whole coefficient buffer whatever the output scale.
   * PNG: Adam7-interlaced (its decode keeps the even rows until the last pass).
   */
  progressive: boolean;
  /** Colour components (JPEG: 1 grey, 3 YCbCr, 4 CMYK/YCCK). */
  components: number;
  /** Bits per sample (PNG may be 16). */
  bitDepth: number;
  hasAlpha: boolean;
  /** HEIC/AVIF: the parsed container (no pixel data) and its transforms. */
  heif?: HeifProbe;
  /** GIF: more than one frame (the first becomes the variants). */
  animated?: boolean;
};

const u16be = (b: Uint8Array, i: number) => ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
const u32be = (b: Uint8Array, i: number) => u16be(b, i) * 65536 + u16be(b, i + 2);
const u16le = (b: Uint8Array, i: number) => (b[i] ?? 0) | ((b[i + 1] ?? 0) << 8);
const u24le = (b: Uint8Array, i: number) => u16le(b, i) | ((b[i + 2] ?? 0) << 16);
const u32le = (b: Uint8Array, i: number) => u16le(b, i) + u16le(b, i + 2) * 65536;
const ascii = (b: Uint8Array, i: number, n: number) => String.fromCharCode(...b.subarray(i, i + n));

/**
 * Reads the format and dimensions from the header alone: the decoder never sees bytes
 * whose format was not sniffed here (the declared type is never trusted), and the pixel
 * cap is applied before anything is allocated.
 */
export function probe(bytes: Uint8Array): Probe {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff)
    return probeJpeg(bytes);
  if (bytes.length >= 8 && u32be(bytes, 0) === 0x89504e47 && u32be(bytes, 4) === 0x0d0a1a0a)
    return probePng(bytes);
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 4) === "WEBP")
    return probeWebp(bytes);
  if (bytes.length >= 6 && /^GIF8[79]a$/.test(ascii(bytes, 0, 6))) return probeGif(bytes);
  const heif = heifKind(bytes);
  if (heif) return fromHeif(probeHeif(bytes, heif));
  throw new ImageError(
    "unsupported_format",
    `${describe(bytes)} is not supported; upload JPEG, PNG, WebP, HEIC, AVIF or GIF`,
  );
}

function probeGif(b: Uint8Array): Probe {
  try {
    const h = readGifHeader(b);
    return {
      format: "gif",
      width: h.width,
      height: h.height,
      progressive: false,
      components: 4,
      bitDepth: 8,
      hasAlpha: h.hasAlpha,
      animated: h.frames > 1,
    };
  } catch (err) {
    if (err instanceof GifError)
      throw new ImageError("corrupt", `The GIF cannot be read: ${err.message}`);
    throw err;
  }
}

function fromHeif(h: HeifProbe): Probe {
  return {
    format: h.format,
    width: h.width,
    height: h.height,
    progressive: false,
    components: 3,
    bitDepth: h.bitDepth,
    hasAlpha: h.hasAlpha,
    heif: h,
  };
}

function describe(b: Uint8Array): string {
  const head = ascii(b, 0, Math.min(b.length, 256)).trimStart().toLowerCase();
  if (head.startsWith("<svg") || (head.startsWith("<?xml") && head.includes("<svg"))) return "SVG";
  if (head.startsWith("<")) return "Markup";
  if (head.startsWith("bm")) return "BMP";
  if (ascii(b, 4, 4) === "ftyp") return "This MP4/QuickTime file (not a HEIF image)";
  if (head.startsWith("ii*\0") || head.startsWith("mm\0*")) return "TIFF";
  return "This file";
}

function probeJpeg(b: Uint8Array): Probe {
  let i = 2;
  while (i < b.length) {
    if (b[i] !== 0xff) throw new ImageError("corrupt", "The JPEG is corrupt (bad marker)");
    while (b[i] === 0xff) i += 1;
    const marker = b[i];
    i += 1;
    if (marker === undefined) break;
    // Markers without a length.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd9 || marker === 0xda) {
      throw new ImageError("corrupt", "The JPEG has no frame header before its image data");
    }
    if (i + 2 > b.length) break;
    const len = u16be(b, i);
    if (len < 2 || i + len > b.length) {
      throw new ImageError(
        "corrupt",
        "The JPEG is truncated or corrupt (a segment runs past the end of the file)",
      );
    }
    const isSof =
      marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (len < 8) throw new ImageError("corrupt", "The JPEG frame header is corrupt");
      const precision = b[i + 2] ?? 0;
      const height = u16be(b, i + 3);
      const width = u16be(b, i + 5);
      const components = b[i + 7] ?? 0;
      if (marker === 0xc3 || marker === 0xc7 || marker === 0xcb || marker === 0xcf) {
        throw new ImageError("unsupported_format", "Lossless JPEG is not supported");
      }
      if (precision !== 8)
        throw new ImageError("unsupported_format", `${precision}-bit JPEG is not supported`);
      if (width === 0 || height === 0) {
        throw new ImageError(
          "unsupported_format",
          "JPEGs that give their height after the image data are not supported",
        );
      }
      if (![1, 3, 4].includes(components)) {
        throw new ImageError(
          "unsupported_format",
          `A JPEG with ${components} colour components is not supported`,
        );
      }
      const progressive = marker === 0xc2 || marker === 0xc6 || marker === 0xca || marker === 0xce;
      return {
        format: "jpeg",
        width,
        height,
        progressive,
        components,
        bitDepth: 8,
        hasAlpha: false,
      };
    }
    i += len;
  }
  throw new ImageError("corrupt", "The JPEG is truncated before its frame header");
}

function probePng(b: Uint8Array): Probe {
  if (b.length < 33 || ascii(b, 12, 4) !== "IHDR")
    throw new ImageError("corrupt", "The PNG has no header");
  const width = u32be(b, 16);
  const height = u32be(b, 20);
  const bitDepth = b[24] ?? 0;
  const colorType = b[25] ?? 0;
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) {
    throw new ImageError("corrupt", "The PNG header has impossible dimensions");
  }
  // Walk chunk headers (not their data) up to the image data: APNG announces itself first.
  let hasTransparency = false;
  for (let i = 8; i + 8 <= b.length; ) {
    const len = u32be(b, i);
    const type = ascii(b, i + 4, 4);
    if (type === "acTL")
      throw new ImageError("unsupported_format", "Animated PNG is not supported");
    if (type === "tRNS") hasTransparency = true;
    if (type === "IDAT" || type === "IEND") break;
    i += 12 + len;
  }
  const hasAlpha = colorType === 4 || colorType === 6 || hasTransparency;
  const channels = [1, 0, 3, 1, 2, 0, 4][colorType] ?? 0;
  if (channels === 0) throw new ImageError("corrupt", "The PNG header has an unknown colour type");
  return {
    format: "png",
    width,
    height,
    // Adam7 interlacing, PNG's progressive mode: its decode keeps half the image.
    progressive: b[28] === 1,
    components: channels,
    bitDepth,
    hasAlpha,
  };
}

function probeWebp(b: Uint8Array): Probe {
  const riffSize = u32le(b, 4);
  if (riffSize + 8 > b.length) throw new ImageError("corrupt", "The WebP is truncated");
  const chunk = ascii(b, 12, 4);
  if (chunk === "VP8X") {
    const flags = b[20] ?? 0;
    if (flags & 0x02)
      throw new ImageError(
        "unsupported_format",
        "Animated WebP is not supported; upload a still image",
      );
    const width = u24le(b, 24) + 1;
    const height = u24le(b, 27) + 1;
    return {
      format: "webp",
      width,
      height,
      progressive: false,
      components: 4,
      bitDepth: 8,
      hasAlpha: Boolean(flags & 0x10),
    };
  }
  if (chunk === "VP8 ") {
    // Frame tag (3 bytes), start code 9d 01 2a, then 14-bit width and height.
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a)
      throw new ImageError("corrupt", "The WebP frame is corrupt");
    const width = u16le(b, 26) & 0x3fff;
    const height = u16le(b, 28) & 0x3fff;
    return {
      format: "webp",
      width,
      height,
      progressive: false,
      components: 3,
      bitDepth: 8,
      hasAlpha: false,
    };
  }
  if (chunk === "VP8L") {
    if (b[20] !== 0x2f) throw new ImageError("corrupt", "The lossless WebP is corrupt");
    const bits = u32le(b, 21);
    const width = (bits & 0x3fff) + 1;
    const height = ((bits >>> 14) & 0x3fff) + 1;
    const hasAlpha = Boolean((bits >>> 28) & 1);
    return {
      format: "webp",
      width,
      height,
      progressive: false,
      components: 4,
      bitDepth: 8,
      hasAlpha,
    };
  }
  throw new ImageError("corrupt", "The WebP has no image chunk");
}
