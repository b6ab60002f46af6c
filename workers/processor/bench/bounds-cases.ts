// `npm run bench:processor`'s bounds section: for each format the admitted header with the
// largest estimate (what the budget check lets through), and each hostile file of issue 13.
// The files are generated here, in the bench worker, by the tests' own generators.
import { createJpegDecoder } from "../src/codecs/jpeg-turbo";
import { encodeWebp } from "../src/codecs/webp";
import { estimateBytes } from "../src/image/estimate";
import { JPEG_MAX_SCANS } from "../src/image/limits";
import { DEFAULT_BUDGET } from "../src/image/pipeline";
import { probe } from "../src/image/probe";
import {
  bigAncillaryPng,
  manyAncillaryPng,
  manyChunksPng,
  repeatedScanJpeg,
  separateScansJpeg,
  wideRowPng,
  zeroPng,
} from "../test/hostile-files";
import { buildJpeg, type JpegSpec } from "../test/jpeg-build";
import jpegWasm from "../wasm/jpeg-turbo/jpeg-turbo.wasm";

export type BoundsCase = {
  name: string;
  kind: "worst admitted" | "hostile";
  build: () => Promise<Uint8Array>;
  /** Runs something other than processImage on the file (the decoder alone). */
  run?: (bytes: Uint8Array) => void;
};

const budget = DEFAULT_BUDGET.memoryBytes;

/** The largest n in [lo, hi] whose file the estimate admits (the estimate grows with n). */
async function largestAdmitted(
  lo: number,
  hi: number,
  file: (n: number) => Promise<Uint8Array> | Uint8Array,
): Promise<number> {
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    const bytes = await file(mid);
    if (estimateBytes(probe(bytes), bytes.byteLength) <= budget) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

const colour444: JpegSpec["sampling"] = [
  [1, 1],
  [1, 1],
  [1, 1],
];

const square =
  (layout: JpegSpec["layout"], padding = 0) =>
  (n: number) =>
    buildJpeg({ width: n, height: n, sampling: colour444, layout, padding });

export const boundsCases: BoundsCase[] = [
  {
    name: "JPEG progressive 4:4:4, largest admitted square",
    kind: "worst admitted",
    build: async () =>
      square("progressive")(await largestAdmitted(8, 65500, square("progressive"))),
  },
  {
    name: "JPEG one scan per component + 1 MB padding, largest admitted square",
    kind: "worst admitted",
    build: async () =>
      square("separate", 1 << 20)(await largestAdmitted(8, 65500, square("separate", 1 << 20))),
  },
  {
    name: "JPEG baseline 4:2:0 at the pixel cap (10000x10000)",
    kind: "worst admitted",
    build: async () =>
      buildJpeg({
        width: 10000,
        height: 10000,
        sampling: [
          [2, 2],
          [1, 1],
          [1, 1],
        ],
      }),
  },
  {
    name: "PNG 1-bit, widest admitted single row",
    kind: "worst admitted",
    build: async () =>
      zeroPng(await largestAdmitted(1, 20_000_000, (w) => zeroPng(w, 1, { bitDepth: 1 })), 1, {
        bitDepth: 1,
      }),
  },
  {
    name: "WebP lossless, largest admitted square",
    kind: "worst admitted",
    build: async () => {
      const side = await largestAdmitted(16, 16383, (n) => losslessHeader(n));
      const data = new Uint8ClampedArray(side * side * 4).fill(255);
      return (await encodeWebp({ width: side, height: side, data }, 0, 0, { lossless: 1 })).value;
    },
  },
  {
    name: "JPEG repeating one scan 14,000 times",
    kind: "hostile",
    build: async () => repeatedScanJpeg(),
  },
  {
    name: "the same, probe bypassed: the decoder's scan limit stops it",
    kind: "hostile",
    build: async () => repeatedScanJpeg(),
    run: (bytes) => {
      createJpegDecoder(jpegWasm, { maxScans: JPEG_MAX_SCANS, maxMemoryBytes: budget }).decodeFit(
        bytes,
        1440,
        1440,
      );
    },
  },
  {
    name: "JPEG 6000x4000 one scan per component + 4 MB padding",
    kind: "hostile",
    build: async () => separateScansJpeg(),
  },
  { name: "PNG 1-bit 20,000,000x1", kind: "hostile", build: wideRowPng },
  { name: "PNG of 65,537 empty IDAT chunks", kind: "hostile", build: manyChunksPng },
  { name: "PNG of 1,001 tEXt chunks", kind: "hostile", build: manyAncillaryPng },
  { name: "PNG with an 8 MB zTXt chunk", kind: "hostile", build: bigAncillaryPng },
];

/** The first bytes of a lossless WebP of side x side, enough for the probe. */
function losslessHeader(side: number): Uint8Array {
  const bits = (side - 1) | ((side - 1) << 14);
  const b = new Uint8Array(64);
  b.set([0x52, 0x49, 0x46, 0x46, 56, 0, 0, 0, 0x57, 0x45, 0x42, 0x50, 0x56, 0x50, 0x38, 0x4c]);
  b.set([0, 0, 0, 0, 0x2f, bits & 255, (bits >>> 8) & 255, (bits >>> 16) & 255, bits >>> 24], 16);
  return b;
}
