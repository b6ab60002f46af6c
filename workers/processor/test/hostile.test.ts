// The attacks of issue 13 on the decoders, each built here from a generator: every one is
// refused from its header (too_large or corrupt, with a message saying why) in well under
// a second, and the decoders themselves refuse what the header did not announce.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createJpegDecoder, JpegDecodeError } from "../src/codecs/jpeg-turbo";
import { decodePngRows, PngLimitError } from "../src/codecs/png-stream";
import { decodeWebp, encodeWebp, WebpMemoryError } from "../src/codecs/webp";
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
import { processOriginal } from "../src/process-original";
import jpegWasm from "../wasm/jpeg-turbo/jpeg-turbo.wasm";
import {
  bigAncillaryPng,
  manyAncillaryPng,
  manyChunksPng,
  repeatedScanJpeg,
  separateScansJpeg,
  wideRowPng,
  zeroPng,
} from "./hostile-files";
import { buildJpeg } from "./jpeg-build";

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

describe("a progressive JPEG that repeats one scan thousands of times", () => {
  const hostile = repeatedScanJpeg();

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
    const file = separateScansJpeg();
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
    const file = await wideRowPng();
    expect(file.byteLength).toBeLessThan(4000);
    const { message, ms } = await refusal(() => processImage(file), "too_large");
    // ~20 bytes of tap tables per source column: 400 MB and more.
    expect(message).toMatch(
      /^20000000x1 PNG needs about (4\d\d|5\d\d) MB to process; the limit is 100 MB$/,
    );
    expect(ms).toBeLessThan(1000);
  });

  it("refuses a PNG of more chunks than the limit before decoding, and so does the decoder", async () => {
    const file = await manyChunksPng();
    const { message, ms } = await refusal(() => processImage(file), "too_large");
    expect(message).toBe(`The PNG has more than ${PNG_MAX_CHUNKS} chunks`);
    expect(ms).toBeLessThan(1000);
    await expect(decodePngRows(file, () => () => {})).rejects.toBeInstanceOf(PngLimitError);
  });

  it("refuses too many ancillary chunks and an ancillary chunk over the size limit", async () => {
    const many = await manyAncillaryPng();
    expect((await refusal(() => processImage(many), "too_large")).message).toBe(
      `The PNG has more than ${PNG_MAX_ANCILLARY_CHUNKS} ancillary chunks`,
    );
    const big = await bigAncillaryPng();
    expect((await refusal(() => processImage(big), "too_large")).message).toBe(
      `The PNG has an ancillary "zTXt" chunk of ${PNG_MAX_ANCILLARY_BYTES + 1} bytes (at most ${PNG_MAX_ANCILLARY_BYTES})`,
    );
    // Within the limits the same kind of file is processed.
    const text = new TextEncoder().encode("Comment\0hello");
    const fine = await zeroPng(16, 16, { extra: [["tEXt", text]], idatSize: 1 });
    expect((await processImage(fine)).width).toBe(16);
  });
});

describe("a WebP whose canvas says less than its image", () => {
  it("is refused by libwebp, which checks the image against the canvas the probe read", async () => {
    // A real 600x600 lossless image inside a VP8X header that announces 10x10.
    const data = new Uint8ClampedArray(600 * 600 * 4).fill(255);
    const vp8l = (await encodeWebp({ width: 600, height: 600, data }, 0, 0, { lossless: 1 })).value;
    const image = vp8l.subarray(12); // the VP8L chunk, header included
    const vp8x = new Uint8Array(18);
    vp8x.set([0x56, 0x50, 0x38, 0x58, 10, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 9, 0, 0]);
    const file = new Uint8Array(12 + vp8x.length + image.length);
    file.set([0x52, 0x49, 0x46, 0x46]);
    new DataView(file.buffer).setUint32(4, file.length - 8, true);
    file.set([0x57, 0x45, 0x42, 0x50], 8);
    file.set(vp8x, 12);
    file.set(image, 12 + vp8x.length);
    expect(probe(file)).toMatchObject({ width: 10, height: 10 });
    const { message } = await refusal(() => processImage(file), "corrupt");
    expect(message).toBe("The WEBP cannot be decoded");
  });
});

describe("the processing stage on a hostile file", () => {
  it("fails the repeated-scan JPEG from its scan count, before libjpeg sees it", async () => {
    const key = `test-hostile/${crypto.randomUUID()}`;
    const file = repeatedScanJpeg();
    await env.BUCKET.put(key, file);
    const r = await processOriginal(env, key, file.byteLength);
    // The probe's message: the whole file was walked, no scan decoded (that one would say
    // "the JPEG has more than 100 scans (the limit)", after ~1 s of work).
    expect(r.kind === "refused" && r.error.message).toBe(
      `The JPEG has more than ${JPEG_MAX_SCANS} scans (image data layers); no photo needs that many`,
    );
  });
});

describe("the JPEG walk", () => {
  it("counts scans past stray bytes between segments, as libjpeg skips them", () => {
    const file = buildJpeg({ width: 64, height: 64, layout: "progressive", acRepeats: 2 });
    // Three stray bytes before the second scan's marker (after the DC scan's data).
    const sos = [...file.keys()].filter((i) => file[i] === 0xff && file[i + 1] === 0xda);
    const at = sos[1] ?? 0;
    const padded = new Uint8Array([...file.subarray(0, at), 1, 2, 3, ...file.subarray(at)]);
    expect(probe(padded).jpeg).toMatchObject({ scans: 3, multiScan: true });
    expect(probe(file).jpeg).toMatchObject({ scans: 3 });
  });
});

describe("the WebP decoder's memory limit", () => {
  it("refuses to grow past the limit it was given, whatever the bitstream asks for", async () => {
    // A 2000x2000 lossy WebP: its 16 MB of RGBA output alone fill the instance's first
    // 16 MB, so the decode must grow the heap.
    const data = new Uint8ClampedArray(2000 * 2000 * 4).fill(200);
    const file = (await encodeWebp({ width: 2000, height: 2000, data }, 50, 0)).value;
    const capped = await decodeWebp(file, { maxHeapBytes: 20 * MB }).then(
      (r) => `decoded ${r.value?.width} in ${r.wasmBytes} bytes`,
      (e: unknown) => e,
    );
    expect(capped).toBeInstanceOf(WebpMemoryError);
    const fine = await decodeWebp(file, { maxHeapBytes: 64 * MB });
    expect(fine.value?.width).toBe(2000);
    expect(fine.wasmBytes).toBeGreaterThan(20 * MB);
    expect(fine.wasmBytes).toBeLessThanOrEqual(64 * MB * 1.2);
  });
});
