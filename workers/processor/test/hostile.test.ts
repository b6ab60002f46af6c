// The attacks of issue 13 on the decoders, each built here from a generator: every one is
// refused from its header (too_large or corrupt, with a message saying why) in well under
// a second, and the decoders themselves refuse what the header did not announce.
import { describe, expect, it } from "vitest";
import { createJpegDecoder, JpegDecodeError } from "../src/codecs/jpeg-turbo";
import { decodePngRows, PngLimitError } from "../src/codecs/png-stream";
import { ImageError } from "../src/image/errors";
import { jpegLibraryBytes } from "../src/image/estimate";
import {
  JPEG_MAX_SCANS,
  PNG_MAX_ANCILLARY_BYTES,
  PNG_MAX_ANCILLARY_CHUNKS,
  PNG_MAX_CHUNKS,
} from "../src/image/limits";
import { processImage } from "../src/image/pipeline";
import { probe } from "../src/image/probe";
import { fitLongEdge } from "../src/image/resize";
import jpegWasm from "../wasm/jpeg-turbo/jpeg-turbo.wasm";
import { buildJpeg } from "./jpeg-build";
import { assemble, chunk, deflate } from "./png-build";

const MB = 1024 * 1024;

/** Runs `work`, expecting an ImageError with `code`; returns it and the time it took. */
async function refusal(work: () => Promise<unknown>, code: string) {
  const t = performance.now();
  const err = await work().then(
    () => null,
    (e: unknown) => e,
  );
  const ms = performance.now() - t;
  expect(err).toBeInstanceOf(ImageError);
  if (!(err instanceof ImageError)) throw new Error("not refused");
  expect(err.code).toBe(code);
  return { message: err.message, ms };
}

/** A PNG of `width` x `height` whose image data is all zero bytes (filter 0, black). */
async function zeroPng(
  width: number,
  height: number,
  opts: { bitDepth?: 1 | 8; idatSize?: number; extra?: Array<[string, Uint8Array]> } = {},
) {
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

describe("a progressive JPEG that repeats one scan thousands of times", () => {
  // 4096x4096 grey, 14,000 AC scans of a few bytes each (end-of-band runs), each walking
  // all 262,144 blocks: ~0.4 MB that kept libjpeg busy for minutes before the scan cap.
  const hostile = buildJpeg({
    width: 4096,
    height: 4096,
    layout: "progressive",
    acRepeats: 14_000,
    eobRuns: true,
  });

  it("is refused too_large from its header in well under a second", async () => {
    expect(hostile.byteLength).toBeLessThan(700_000);
    const { message, ms } = await refusal(() => processImage(hostile), "too_large");
    expect(message).toBe(
      `The JPEG has more than ${JPEG_MAX_SCANS} scans (image data layers); no photo needs that many`,
    );
    expect(ms).toBeLessThan(1000);
  });

  it("is stopped by the decoder's scan limit while it runs, the instance still usable", () => {
    const small = buildJpeg({ width: 512, height: 512, layout: "progressive", acRepeats: 500 });
    const decoder = createJpegDecoder(jpegWasm, { maxScans: 10 });
    const err = (() => {
      try {
        decoder.decodeFit(small, 256, 256);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(JpegDecodeError);
    expect(err instanceof JpegDecodeError && err.code).toBe("too-large");
    expect(err instanceof Error && err.message).toBe("the JPEG has more than 10 scans (the limit)");
    // Within the limit the same instance decodes a file of the same layout.
    const fine = buildJpeg({ width: 512, height: 512, layout: "progressive", acRepeats: 3 });
    expect(decoder.decodeFit(fine, 256, 256).width).toBe(256);
  });
});

describe("a baseline JPEG whose components sit in separate scans", () => {
  it("counts every coefficient, as for a progressive one, and refuses it over the budget", async () => {
    // 6000x4000 4:4:4 colour in three scans plus 4 MB of COM/APP1 padding: libjpeg keeps
    // 3 x 750 x 500 blocks of coefficients (144 MB) whatever the output size.
    const file = buildJpeg({
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
    const p = probe(file);
    expect(p.jpeg).toMatchObject({ multiScan: true, scans: 3 });
    const { message, ms } = await refusal(() => processImage(file), "too_large");
    expect(message).toMatch(
      /^6000x4000 JPEG needs about (1[5-9]\d|2\d\d) MB to process; the limit is 100 MB$/,
    );
    expect(ms).toBeLessThan(1000);
  });

  it("stays under its estimate when it fits, and the decoder refuses coefficients nobody announced", async () => {
    const spec = {
      width: 3000,
      height: 2000,
      sampling: [
        [2, 2],
        [1, 1],
        [1, 1],
      ] as Array<[number, number]>,
    };
    const separate = buildJpeg({ ...spec, layout: "separate", padding: MB });
    const r = await processImage(separate);
    expect(r.peakBytes).toBeLessThanOrEqual(r.estimatedBytes);
    // The same header as a single-scan file would get a limit with no coefficient buffer:
    // libjpeg then refuses to allocate one.
    const single = probe(buildJpeg({ ...spec, layout: "baseline" }));
    const fit = fitLongEdge(3000, 2000, 1440);
    const decoder = createJpegDecoder(jpegWasm, {
      maxMemoryBytes: Math.max(jpegLibraryBytes(single, fit), fit.width * fit.height * 4),
    });
    expect(() => decoder.decodeFit(separate, fit.width, fit.height)).toThrow(
      /memory limit \(whole-image coefficient buffer/,
    );
  });
});

describe("PNGs that cost more than their size", () => {
  it("refuses a 2.5 KB 1-bit PNG of 20,000,000x1 (the resizer's tap tables) from its header", async () => {
    const file = await zeroPng(20_000_000, 1, { bitDepth: 1 });
    expect(file.byteLength).toBeLessThan(4000);
    const { message, ms } = await refusal(() => processImage(file), "too_large");
    // ~20 bytes of tap tables per source column: 400 MB and more.
    expect(message).toMatch(
      /^20000000x1 PNG needs about (4\d\d|5\d\d) MB to process; the limit is 100 MB$/,
    );
    expect(ms).toBeLessThan(1000);
  });

  it("refuses a PNG of more chunks than the limit before decoding, and so does the decoder", async () => {
    // Empty IDAT chunks, 12 bytes each, the image data spread over them.
    const png = await zeroPng(16, 16);
    const ihdrEnd = 8 + 25;
    const empties = new Uint8Array(12 * (PNG_MAX_CHUNKS + 1));
    const empty = chunk("IDAT", new Uint8Array(0));
    for (let i = 0; i < PNG_MAX_CHUNKS + 1; i++) empties.set(empty, i * 12);
    const file = new Uint8Array(png.byteLength + empties.byteLength);
    file.set(png.subarray(0, ihdrEnd));
    file.set(empties, ihdrEnd);
    file.set(png.subarray(ihdrEnd), ihdrEnd + empties.byteLength);
    const { message, ms } = await refusal(() => processImage(file), "too_large");
    expect(message).toBe(`The PNG has more than ${PNG_MAX_CHUNKS} chunks`);
    expect(ms).toBeLessThan(1000);
    await expect(decodePngRows(file, () => () => {})).rejects.toBeInstanceOf(PngLimitError);
  });

  it("refuses too many ancillary chunks and an ancillary chunk over the size limit", async () => {
    const text = new TextEncoder().encode("Comment\0hello");
    const many = await zeroPng(16, 16, {
      extra: Array.from({ length: PNG_MAX_ANCILLARY_CHUNKS + 1 }, () => ["tEXt", text]),
    });
    expect((await refusal(() => processImage(many), "too_large")).message).toBe(
      `The PNG has more than ${PNG_MAX_ANCILLARY_CHUNKS} ancillary chunks`,
    );
    const big = await zeroPng(16, 16, {
      extra: [["zTXt", new Uint8Array(PNG_MAX_ANCILLARY_BYTES + 1)]],
    });
    expect((await refusal(() => processImage(big), "too_large")).message).toBe(
      `The PNG has an ancillary "zTXt" chunk of ${PNG_MAX_ANCILLARY_BYTES + 1} bytes (at most ${PNG_MAX_ANCILLARY_BYTES})`,
    );
    // Within the limits the same kind of file is processed.
    const fine = await zeroPng(16, 16, { extra: [["tEXt", text]], idatSize: 1 });
    expect((await processImage(fine)).width).toBe(16);
  });
});
