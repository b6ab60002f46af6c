import { interlacedBytes } from "../codecs/png-stream";
import { avifCost, gifCost, heicCost } from "./estimate-phone";
import type { Probe } from "./probe";
import { fitLongEdge } from "./resize";
import { rowResizerBytes } from "./row-resize";
import { PREVIEW_EDGE, THUMB_EDGE } from "./variants";

const MB = 1024 * 1024;

/**
 * WASM memory of the WebP encoder for a preview of this many pixels, measured in workerd
 * for previews from 800x600 to 1440x1080, smooth to noise: at most 31 bytes per pixel
 * opaque (16-40 MB at 1440x1080) and 46 with alpha (53-70 MB: the lossless alpha plane),
 * 16 MB at least.
 */
function encoderBytes(pixels: number, alpha: boolean): number {
  return Math.max(16 * MB, pixels * (alpha ? 46 : 31));
}

type Size = { width: number; height: number };

/**
 * The decode phase of one format: everything alive at its peak (the input included), and
 * what it leaves alive besides the preview for the encode phase.
 */
type DecodeCost = { peak: number; leftOver: number };

/**
 * What processing this image will cost at most, from its header alone: the larger of the
 * decode phase (input, the decoder's working memory, its output and the JS copy of it)
 * and the encode phase (input, what is left of the decode, the upright preview, the
 * thumb and the WebP encoder). Every allocation that grows with the width, the height,
 * the scans or the chunks of the file is in it; `processImage` measures the real peak
 * (WASM memories and JS buffers) and a property test checks it stays under this over
 * generated headers of every kind the probe admits.
 */
export function estimateBytes(p: Probe, inputBytes: number): number {
  const fit = fitLongEdge(p.width, p.height, PREVIEW_EDGE);
  const previewBytes = fit.width * fit.height * 4;
  const thumb = fitLongEdge(fit.width, fit.height, THUMB_EDGE);
  const decode = decodeCost(p, inputBytes, fit);
  // An EXIF rotation or mirror makes an upright copy of the preview.
  const encodePhase =
    inputBytes +
    decode.leftOver +
    previewBytes * 2 +
    thumb.width * thumb.height * 4 +
    encoderBytes(fit.width * fit.height, p.hasAlpha);
  return Math.max(decode.peak, encodePhase);
}

function decodeCost(p: Probe, inputBytes: number, fit: Size): DecodeCost {
  switch (p.format) {
    case "jpeg":
      return jpegCost(p, inputBytes, fit);
    case "png":
      return pngCost(p, inputBytes, fit);
    case "webp":
      return webpCost(p, inputBytes);
    case "heic":
      return heicCost(p, inputBytes, fit);
    case "avif":
      return avifCost(p, inputBytes, fit);
    case "gif":
      return gifCost(p, inputBytes);
  }
}

// ---- JPEG: libjpeg-turbo in WASM (codecs/jpeg-turbo.ts, wasm/jpeg-turbo/decode.c) -------

/** A fresh jpeg-turbo instance's memory (INITIAL_MEMORY: static data, stack, first heap). */
const JPEG_WASM_START = 2 * MB;

/**
 * How libjpeg will decode toward `fit`: dr_decode_fit's n/8 (the smallest that covers the
 * fit on both axes) and the scaled size, or 8/8 when the image is the fit (dr_decode).
 */
function jpegScaled(p: Probe, fit: Size): Size {
  let n = 8;
  if (fit.width !== p.width || fit.height !== p.height) {
    for (let k = 1; k <= 8; k++) {
      if (
        Math.ceil((p.width * k) / 8) >= fit.width &&
        Math.ceil((p.height * k) / 8) >= fit.height
      ) {
        n = k;
        break;
      }
    }
  }
  return { width: Math.ceil((p.width * n) / 8), height: Math.ceil((p.height * n) / 8) };
}

/**
 * libjpeg's own memory: a multi-scan file keeps every DCT coefficient of the image
 * (2 bytes each, 64 per block, each component's blocks padded to whole sampling factors:
 * jdcoefct.c's whole_image arrays, whatever the output scale); every file has row buffers
 * of the scaled width (main, upsampling, colour conversion: at most a few dozen rows of
 * each component, bounded here by 256 bytes per column and component, and 1 MB for the
 * tables and pools). The decoder is given this as its limit: libjpeg refuses to go past
 * it (`maxMemoryBytes`), so a file that lays out more than its header said fails.
 */
export function jpegLibraryBytes(p: Probe, fit: Size): number {
  const layout = p.jpeg;
  const sampling = layout?.sampling ?? [];
  const hmax = Math.max(1, ...sampling.map((s) => s[0]));
  const vmax = Math.max(1, ...sampling.map((s) => s[1]));
  let coefficients = 0;
  if (layout?.multiScan ?? true) {
    for (const [h, v] of sampling.length ? sampling : [[4, 4] as [number, number]]) {
      const blocksX = Math.ceil((p.width * h) / (hmax * 8));
      const blocksY = Math.ceil((p.height * v) / (vmax * 8));
      coefficients += Math.ceil(blocksX / h) * h * Math.ceil(blocksY / v) * v * 128;
    }
  }
  const scaled = jpegScaled(p, fit);
  return coefficients + (scaled.width + 64) * Math.max(1, p.components) * 256 + MB;
}

function jpegCost(p: Probe, inputBytes: number, fit: Size): DecodeCost {
  const out = fit.width * fit.height * 4;
  const scaled = jpegScaled(p, fit);
  // decode.c's own scratch for dr_decode_fit: 16 decoded rows (RGB or CMYK), the tap
  // tables of both axes (as in rowResizerBytes) and three float rows of the output.
  const tables = (src: number, dst: number) => 8 * dst + 4 * (src + 2 * dst);
  const fitScratch =
    scaled.width * 4 * 16 +
    tables(scaled.width, fit.width) +
    tables(scaled.height, fit.height) +
    fit.width * 3 * 4 * 3;
  // The decoder refuses libjpeg allocations and an output over its limit (the larger of
  // the two), so libjpeg may use up to that limit. 1 MB for malloc's headers and pages.
  const library = Math.max(jpegLibraryBytes(p, fit), out);
  const wasm = JPEG_WASM_START + inputBytes + out + library + fitScratch + MB;
  // The input in JS, the instance, and the JS copy of the output.
  return { peak: inputBytes + wasm + out, leftOver: 0 };
}

// ---- PNG: streamed in JS (codecs/png-stream.ts) into a RowResizer -----------------------

function pngCost(p: Probe, inputBytes: number, fit: Size): DecodeCost {
  // Two raw rows (filter byte and alignment: + 4), one RGBA row of the source width, and
  // an interlaced image's even rows (half the RGBA image) and pass row until pass 7;
  // 2 MB for the inflater's state and its 4 KB output chunks in flight.
  const stride = Math.ceil((p.width * p.components * p.bitDepth) / 8);
  const rows = (stride + 4) * 2 + p.width * 4;
  const interlace = p.progressive
    ? interlacedBytes(p.width, p.height) + Math.ceil(p.width / 2) * 4
    : 0;
  const resizer = rowResizerBytes(p.width, p.height, fit.width, fit.height);
  return { peak: inputBytes + rows + interlace + 2 * MB + resizer, leftOver: 0 };
}

// ---- WebP: jSquash's libwebp decoder (codecs/webp.ts), full size ------------------------

/** jSquash's WebP decoder starts at 16 MB (its INITIAL_MEMORY). */
const WEBP_WASM_START = 16 * MB;

/**
 * The heap the WebP decoder may grow to (its limit, `decodeWebp`'s `maxHeapBytes`): the
 * input (copied in as a std::string), the RGBA output, and libwebp's own work: lossy
 * decodes through YUV rows (measured ~1.6 bytes per pixel); a lossless image (VP8L, or a
 * VP8X file that may hold one: components 4) is decoded to a full ARGB buffer first
 * (another `full`), and an alpha plane takes a byte per pixel. 2 bytes per pixel on top
 * cover the rest.
 */
export function webpHeapBytes(p: Probe, inputBytes: number): number {
  const pixels = p.width * p.height;
  const full = pixels * 4;
  const lossless = p.components === 4;
  return WEBP_WASM_START + inputBytes + full + (lossless ? full : 0) + pixels * 2;
}

function webpCost(p: Probe, inputBytes: number): DecodeCost {
  const full = p.width * p.height * 4;
  // emscripten grows the heap by up to 20% more than asked, so the instance may reach
  // 1.2 x its limit.
  const wasm = webpHeapBytes(p, inputBytes) * 1.2;
  // Animated: the first frame re-wrapped as a still WebP (at most the input again) and the
  // canvas it is placed on (another full image) while the frame's pixels are alive.
  const firstFrame = p.animated ? inputBytes + full : 0;
  // The input in JS and the one JS copy of the pixels, which stays for the encode phase.
  return { peak: inputBytes + wasm + full + firstFrame, leftOver: full };
}
