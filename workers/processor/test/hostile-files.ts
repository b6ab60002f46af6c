// The hostile files of issue 13, generated (shared by hostile.test.ts and the bench worker
// behind `npm run bench:processor`).
import {
  PNG_MAX_ANCILLARY_BYTES,
  PNG_MAX_ANCILLARY_CHUNKS,
  PNG_MAX_CHUNKS,
} from "../src/image/limits";
import { buildJpeg } from "./jpeg-build";
import { assemble, chunk, deflate } from "./png-build";

const MB = 1024 * 1024;

/** A PNG of `width` x `height` grey whose image data is all zero bytes (filter 0, black). */
export async function zeroPng(
  width: number,
  height: number,
  opts: { bitDepth?: 1 | 8; idatSize?: number; extra?: Array<[string, Uint8Array]> } = {},
): Promise<Uint8Array> {
  const bitDepth = opts.bitDepth ?? 8;
  const stride = Math.ceil((width * bitDepth) / 8) + 1;
  const spec = {
    width,
    height,
    colorType: 0 as const,
    bitDepth,
    sample: () => 0,
    idatSize: opts.idatSize,
    extra: opts.extra,
  };
  return assemble(spec, await deflate(new Uint8Array(stride * height)));
}

/**
 * 4096x4096 grey progressive, 14,000 AC scans of a few bytes each (end-of-band runs), each
 * walking all 262,144 blocks: ~0.4 MB that kept libjpeg busy for minutes before the cap.
 */
export function repeatedScanJpeg(): Uint8Array {
  return buildJpeg({
    width: 4096,
    height: 4096,
    layout: "progressive",
    acRepeats: 14_000,
    eobRuns: true,
  });
}

/**
 * 6000x4000 4:4:4 colour, baseline, one scan per component, after 4 MB of COM/APP1
 * padding: libjpeg keeps 3 x 750 x 500 blocks of coefficients (144 MB) at any output size.
 */
export function separateScansJpeg(): Uint8Array {
  return buildJpeg({
    width: 6000,
    height: 4000,
    sampling: [
      [1, 1],
      [1, 1],
      [1, 1],
    ],
    layout: "separate",
    padding: 4 * MB,
  });
}

/** 2.5 KB: a 1-bit PNG of 20,000,000x1 (the resizer's tap tables: ~20 B per column). */
export function wideRowPng(): Promise<Uint8Array> {
  return zeroPng(20_000_000, 1, { bitDepth: 1 });
}

/** A 16x16 PNG whose IHDR is followed by one empty IDAT chunk more than the limit. */
export async function manyChunksPng(): Promise<Uint8Array> {
  const png = await zeroPng(16, 16);
  const ihdrEnd = 8 + 25;
  const count = PNG_MAX_CHUNKS + 1;
  const empty = chunk("IDAT", new Uint8Array(0));
  const file = new Uint8Array(png.byteLength + 12 * count);
  file.set(png.subarray(0, ihdrEnd));
  for (let i = 0; i < count; i++) file.set(empty, ihdrEnd + i * 12);
  file.set(png.subarray(ihdrEnd), ihdrEnd + 12 * count);
  return file;
}

/** One tEXt chunk more than the ancillary chunk limit. */
export function manyAncillaryPng(): Promise<Uint8Array> {
  const text = new TextEncoder().encode("Comment\0hello");
  return zeroPng(16, 16, {
    extra: Array.from({ length: PNG_MAX_ANCILLARY_CHUNKS + 1 }, () => ["tEXt", text]),
  });
}

/** One ancillary chunk a byte over the size limit. */
export function bigAncillaryPng(): Promise<Uint8Array> {
  return zeroPng(16, 16, { extra: [["zTXt", new Uint8Array(PNG_MAX_ANCILLARY_BYTES + 1)]] });
}
