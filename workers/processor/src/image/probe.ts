import { GifError, gifScreen, readGifHeader } from "../codecs/gif";
import { HeifNeedsMore } from "../codecs/heif/errors";
import { PngError, PngLimitError, pngLayout } from "../codecs/png-stream";
import { ImageError } from "./errors";
import { JPEG_MAX_SCANS } from "./limits";
import { type HeifProbe, heifKind, probeHeif } from "./probe-heif";
import { walkRiff } from "./riff";
import { WorkMeter } from "./work";

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
  /**
   * GIF, APNG, WebP: more than one frame. One policy: the first (APNG: the default) frame
   * becomes the variants, and the asset says it was animated.
   */
  animated?: boolean;
  /** JPEG only: how its scans are laid out (what libjpeg will buffer and walk). */
  jpeg?: JpegLayout;
};

/**
 * A prefix ended before the header that gives the dimensions (a JPEG may carry megabytes
 * of metadata before its frame): nothing can be planned from it, only from the whole file.
 */
export class PrefixTooShort extends Error {
  override name = "PrefixTooShort";
}

export type JpegLayout = {
  /**
   * libjpeg keeps every DCT coefficient of the image: progressive, or a first scan that
   * does not hold every component (a baseline file may give each component its own scan).
   * From a prefix that ends before the first scan: true (the worst case).
   */
  multiScan: boolean;
  /** SOS markers in the file (at most JPEG_MAX_SCANS); null when only a prefix was read. */
  scans: number | null;
  /** Sampling factors [h, v] of each component, as the frame header gives them. */
  sampling: Array<[number, number]>;
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
 * cap is applied before anything is allocated. The structure is walked too (JPEG markers
 * and scans, PNG chunk headers) against the decoder limits of `./limits`, without reading
 * or copying the image data.
 *
 * `fileBytes`: the size of the whole file when `bytes` is only its start (the processor
 * probes a prefix before it queues for memory). What lies past the prefix is then assumed
 * at its worst for the estimate (see each format), and the limits are checked again on
 * the whole file.
 *
 * `work`: what walking the structure may cost (./work.ts), by default the budget of a file
 * of `fileBytes`; every marker, chunk, block and box visited is charged to it, and a file
 * whose walk runs out of it is refused `too_large`.
 */
export function probe(
  bytes: Uint8Array,
  fileBytes = bytes.length,
  work = WorkMeter.forFile(fileBytes),
): Probe {
  const prefix = bytes.length < fileBytes;
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff)
    return probeJpeg(bytes, prefix, work);
  if (bytes.length >= 8 && u32be(bytes, 0) === 0x89504e47 && u32be(bytes, 4) === 0x0d0a1a0a)
    return probePng(bytes, prefix, work);
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 4) === "WEBP") {
    walkRiff(bytes, fileBytes, work);
    return probeWebp(bytes, fileBytes);
  }
  if (bytes.length >= 6 && /^GIF8[79]a$/.test(ascii(bytes, 0, 6)))
    return probeGif(bytes, prefix, work);
  const heif = heifKind(bytes);
  if (heif) {
    try {
      return fromHeif(probeHeif(bytes, heif, fileBytes, work));
    } catch (err) {
      if (err instanceof HeifNeedsMore) throw new PrefixTooShort(err.message);
      throw err;
    }
  }
  throw new ImageError(
    "unsupported_format",
    `${describe(bytes)} is not supported; upload JPEG, PNG, WebP, HEIC, AVIF or GIF`,
  );
}

function probeGif(b: Uint8Array, prefix: boolean, work: WorkMeter): Probe {
  try {
    // From a prefix only the screen is known: frames and transparency at their worst (the
    // whole file is probed again before decoding).
    const h = prefix ? { ...gifScreen(b), frames: 1, hasAlpha: true } : readGifHeader(b, work);
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

function probeJpeg(b: Uint8Array, prefix: boolean, work: WorkMeter): Probe {
  let frame: (Omit<Probe, "jpeg"> & { sampling: Array<[number, number]> }) | null = null;
  let multiScan: boolean | null = null;
  let scans = 0;
  let i = 2;
  while (i < b.length) {
    if (b[i] !== 0xff) {
      if (frame === null) throw new ImageError("corrupt", "The JPEG is corrupt (bad marker)");
      // Stray bytes between segments: libjpeg skips them to the next marker with a
      // warning ("extraneous bytes before marker"), and so does the walk.
      const ff = b.indexOf(0xff, i);
      if (ff < 0) break;
      i = ff;
    }
    while (b[i] === 0xff) i += 1;
    const marker = b[i];
    i += 1;
    if (marker === undefined) break;
    work.charge(1, "a JPEG marker");
    // Markers without a length.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd9) break; // EOI: libjpeg reads nothing after it
    if (marker === 0xda && frame === null) {
      throw new ImageError("corrupt", "The JPEG has no frame header before its image data");
    }
    if (i + 2 > b.length) break;
    const len = u16be(b, i);
    if (len < 2 || i + len > b.length) {
      if (prefix) break;
      throw new ImageError(
        "corrupt",
        "The JPEG is truncated or corrupt (a segment runs past the end of the file)",
      );
    }
    const isSof =
      marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof && frame === null) frame = readFrame(b, i, marker, len);
    i += len;
    if (marker !== 0xda || frame === null) continue;
    // A scan: libjpeg buffers the whole image when the first one lacks a component.
    scans += 1;
    if (scans > JPEG_MAX_SCANS) {
      throw new ImageError(
        "too_large",
        `The JPEG has more than ${JPEG_MAX_SCANS} scans (image data layers); no photo needs that many`,
      );
    }
    multiScan ??= frame.progressive || (b[i - len + 2] ?? 0) < frame.components;
    // Skip the entropy-coded data: up to the next marker that is not a stuffed 0xFF00,
    // a restart marker or fill (a unit per step of this loop: a stuffed byte, a restart marker, a run of fill).
    for (;;) {
      work.charge(1, "a JPEG scan's data");
      const ff = b.indexOf(0xff, i);
      if (ff < 0 || ff + 1 >= b.length) {
        i = b.length;
        break;
      }
      const next = b[ff + 1] ?? 0;
      if (next === 0xff) {
        // A run of fill bytes: one step (and one unit) for the whole run.
        let last = ff + 1;
        while (b[last + 1] === 0xff) last += 1;
        i = last;
        continue;
      }
      if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) {
        i = ff + 2;
        continue;
      }
      i = ff;
      break;
    }
  }
  if (frame === null) {
    if (prefix) throw new PrefixTooShort("no JPEG frame header in the first bytes");
    throw new ImageError("corrupt", "The JPEG is truncated before its frame header");
  }
  const { sampling, ...rest } = frame;
  // Past a prefix, the first scan may lack components: assume it does.
  return {
    ...rest,
    jpeg: {
      multiScan: multiScan ?? (prefix || frame.progressive),
      scans: prefix ? null : scans,
      sampling,
    },
  };
}

function readFrame(
  b: Uint8Array,
  i: number,
  marker: number,
  len: number,
): Omit<Probe, "jpeg"> & { sampling: Array<[number, number]> } {
  const components = b[i + 7] ?? 0;
  if (len < 8 + 3 * components) throw new ImageError("corrupt", "The JPEG frame header is corrupt");
  const precision = b[i + 2] ?? 0;
  const height = u16be(b, i + 3);
  const width = u16be(b, i + 5);
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
  const sampling: Array<[number, number]> = [];
  for (let c = 0; c < components; c++) {
    const hv = b[i + 9 + 3 * c] ?? 0;
    const h = hv >> 4;
    const v = hv & 15;
    if (h < 1 || h > 4 || v < 1 || v > 4)
      throw new ImageError("corrupt", "The JPEG frame header has bad sampling factors");
    sampling.push([h, v]);
  }
  return {
    sampling,
    format: "jpeg",
    width,
    height,
    progressive,
    components,
    bitDepth: 8,
    hasAlpha: false,
  };
}

function probePng(b: Uint8Array, prefix: boolean, work: WorkMeter): Probe {
  if (b.length < 33 || ascii(b, 12, 4) !== "IHDR")
    throw new ImageError("corrupt", "The PNG has no header");
  const width = u32be(b, 16);
  const height = u32be(b, 20);
  const bitDepth = b[24] ?? 0;
  const colorType = b[25] ?? 0;
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) {
    throw new ImageError("corrupt", "The PNG header has impossible dimensions");
  }
  const channels = [1, 0, 3, 1, 2, 0, 4][colorType] ?? 0;
  if (channels === 0) throw new ImageError("corrupt", "The PNG header has an unknown colour type");
  if (![1, 2, 4, 8, 16].includes(bitDepth))
    throw new ImageError("corrupt", `The PNG header has a bit depth of ${bitDepth}`);
  // Every chunk header, against the chunk limits; APNG announces itself before the data.
  let layout: ReturnType<typeof pngLayout>;
  try {
    layout = pngLayout(b, work);
  } catch (err) {
    if (err instanceof PngLimitError)
      throw new ImageError("too_large", `The PNG has ${err.message}`);
    if (err instanceof PngError) throw new ImageError("corrupt", `The PNG is ${err.message}`);
    throw err;
  }
  // A tRNS chunk may still come when a prefix ends before the image data: assume alpha.
  const transparency = layout.transparency || (prefix && !layout.sawImageData);
  return {
    format: "png",
    width,
    height,
    // Adam7 interlacing, PNG's progressive mode: its decode keeps half the image.
    progressive: b[28] === 1,
    components: channels,
    bitDepth,
    hasAlpha: colorType === 4 || colorType === 6 || transparency,
    // APNG: the default image (IDAT) becomes the variants, as libvips and browsers show it.
    animated: layout.animated,
  };
}

function probeWebp(b: Uint8Array, fileBytes: number): Probe {
  const riffSize = u32le(b, 4);
  if (riffSize + 8 > fileBytes) throw new ImageError("corrupt", "The WebP is truncated");
  const chunk = ascii(b, 12, 4);
  if (chunk === "VP8X") {
    const flags = b[20] ?? 0;
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
      // Animated: the first frame on the canvas becomes the variants (see decodeWebp).
      animated: Boolean(flags & 0x02),
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
