// The memory estimate is an upper bound: for random valid files across the space the
// probe admits (JPEG dimensions up to 65500, 1/3/4 components, sampling factors, one scan,
// a scan per component or progressive, APPn/COM padding; PNG of every colour type and bit
// depth, interlaced or not, palettes, transparency, image data in chunks of 1 byte to
// 64 KB, ancillary chunks; WebP lossy, lossless, with alpha), the peak `processImage`
// measures (WASM memories grown + JS buffers alive) never exceeds the estimate, and the
// reservation planned from a 256 KB prefix (what the processing lane sets aside before it
// reads the whole original) is never below the estimate from the whole file. Deterministic: a fixed seed.
import { describe, expect, it } from "vitest";
import { encodeWebp } from "../src/codecs/webp";
import { ImageError } from "../src/image/errors";
import { estimateBytes } from "../src/image/estimate";
import { PNG_MAX_CHUNKS } from "../src/image/limits";
import { laneBytes, PLAN_PREFIX_BYTES, processImage } from "../src/image/pipeline";
import { probe } from "../src/image/probe";
import { buildJpeg, type JpegSpec } from "./jpeg-build";
import { assemble, deflate, type PngSpec, rawImageData } from "./png-build";
import { type Rng, rng } from "./rng";

const MAX_PIXELS = 100_000_000;

type Outcome = { label: string; admitted: boolean; peak: number; estimate: number };

/**
 * Plans from a prefix and from the whole file, then processes: an admitted file must stay
 * under its estimate; a refused one must be refused too_large without being decoded.
 */
async function check(label: string, file: Uint8Array): Promise<Outcome> {
  const fromWhole = estimateBytes(probe(file), file.byteLength);
  let reserved: number | null = null;
  try {
    reserved = laneBytes(file.subarray(0, PLAN_PREFIX_BYTES), file.byteLength);
  } catch (err) {
    if (!(err instanceof ImageError) || err.code !== "too_large") throw err;
  }
  let r: Awaited<ReturnType<typeof processImage>>;
  try {
    r = await processImage(file);
  } catch (err) {
    if (!(err instanceof ImageError) || err.code !== "too_large") throw err;
    return { label, admitted: false, peak: 0, estimate: fromWhole };
  }
  // What the lane set aside from the prefix covers what the whole file may use.
  expect(reserved, `${label}: lane reservation`).toBeGreaterThanOrEqual(fromWhole);
  expect(r.estimatedBytes).toBe(fromWhole);
  expect(r.peakBytes, `${label}: peak over estimate`).toBeLessThanOrEqual(r.estimatedBytes);
  return { label, admitted: true, peak: r.peakBytes, estimate: r.estimatedBytes };
}

/** Any area up to `maxArea`, any aspect ratio, each side at most `maxSide`. */
function randomSize(r: Rng, maxArea: number, maxSide: number) {
  const area = r.log(1, maxArea);
  const aspect = Math.exp((r.next() * 2 - 1) * Math.log(maxSide));
  const width = Math.min(maxSide, Math.max(1, Math.round(Math.sqrt(area * aspect))));
  const height = Math.min(maxSide, Math.max(1, Math.round(area / width)));
  return { width, height };
}

function randomJpeg(r: Rng): JpegSpec {
  const components = r.pick([1, 3, 3, 4] as const);
  const luma = r.pick([
    [1, 1],
    [2, 1],
    [1, 2],
    [2, 2],
    [4, 1],
    [1, 4],
    [4, 2],
  ] as Array<[number, number]>);
  const sampling: Array<[number, number]> = [luma];
  for (let c = 1; c < components; c++) sampling.push(r.next() < 0.8 ? [1, 1] : luma);
  const blocksPerMcu = sampling.reduce((n, [h, v]) => n + h * v, 0);
  const { width, height } = randomSize(r, MAX_PIXELS, 65500);
  // libjpeg interleaves at most 10 blocks per MCU: larger layouts go one scan per component.
  const layouts =
    blocksPerMcu > 10
      ? (["separate"] as const)
      : (["baseline", "separate", "progressive"] as const);
  return {
    width,
    height,
    sampling,
    layout: r.pick(layouts),
    acRepeats: r.int(1, 3),
    padding: r.next() < 0.3 ? r.int(0, 400_000) : 0,
  };
}

const DEPTHS: Record<number, Array<PngSpec["bitDepth"]>> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

async function randomPng(r: Rng): Promise<{ spec: PngSpec; file: Uint8Array }> {
  const colorType = r.pick([0, 2, 3, 4, 6] as const);
  const depths = DEPTHS[colorType];
  if (!depths) throw new Error(`no depths for colour type ${colorType}`);
  const bitDepth = r.pick(depths);
  // Small areas keep the JS row loop quick; width is what the tap tables grow with.
  const { width, height } =
    r.next() < 0.3
      ? { width: r.log(100_000, 5_000_000), height: r.int(1, 2) }
      : randomSize(r, 300_000, 65_536);
  const entries = r.int(1, 256);
  const spec: PngSpec = {
    width,
    height,
    colorType,
    bitDepth,
    interlaced: r.next() < 0.4,
    filter: r.pick([0, "cycle"] as const),
    sample: (x, y, c) =>
      (x * 7 + y * 3 + c) % (colorType === 3 ? Math.min(entries, 1 << bitDepth) : 1 << bitDepth),
    palette:
      colorType === 3
        ? Array.from(
            { length: entries },
            (_, i) => [i, 255 - i, (i * 5) & 255] as [number, number, number],
          )
        : undefined,
    trns:
      r.next() < 0.3
        ? colorType === 3
          ? new Uint8Array(r.int(1, entries)).fill(128)
          : colorType === 0
            ? new Uint8Array(2)
            : colorType === 2
              ? new Uint8Array(6)
              : undefined
        : undefined,
    extra: Array.from({ length: r.int(0, 6) }, (_, i): [string, Uint8Array] => [
      i % 2 ? "tEXt" : "zzZz",
      new Uint8Array(r.log(1, 200_000)),
    ]),
  };
  const compressed = await deflate(rawImageData(spec));
  // Image data in chunks of 1 byte up to all in one, within the chunk limit.
  const minSize = Math.ceil(compressed.length / (PNG_MAX_CHUNKS - 20));
  spec.idatSize = Math.max(minSize, r.pick([1, 7, 100, 8192, 65536, compressed.length]));
  return { spec, file: assemble(spec, compressed) };
}

function describeJpeg(s: JpegSpec): string {
  return `JPEG ${s.width}x${s.height} ${s.layout} ${JSON.stringify(s.sampling)} pad ${s.padding}`;
}

describe("the memory estimate over generated headers", () => {
  it("bounds the measured peak of 80 random JPEGs", async () => {
    const r = rng(13);
    const results: Outcome[] = [];
    for (let i = 0; i < 80; i++) {
      const spec = randomJpeg(r);
      results.push(await check(describeJpeg(spec), buildJpeg(spec)));
    }
    report(results);
    expect(results.filter((o) => o.admitted).length).toBeGreaterThanOrEqual(40);
  }, 180_000);

  it("bounds the measured peak of 40 random PNGs", async () => {
    const r = rng(1213);
    const results: Outcome[] = [];
    for (let i = 0; i < 40; i++) {
      const { spec, file } = await randomPng(r);
      const label = `PNG ${spec.width}x${spec.height} ct ${spec.colorType} ${spec.bitDepth}-bit${spec.interlaced ? " interlaced" : ""} idat ${spec.idatSize}`;
      results.push(await check(label, file));
    }
    report(results);
    expect(results.filter((o) => o.admitted).length).toBeGreaterThanOrEqual(20);
  }, 180_000);

  it("bounds the measured peak of random WebPs, lossy and lossless, with and without alpha", async () => {
    const r = rng(2026);
    const results: Outcome[] = [];
    for (let i = 0; i < 8; i++) {
      const width = r.log(1, 1600);
      const height = r.log(1, 1200);
      const alpha = r.next() < 0.5;
      const data = new Uint8ClampedArray(width * height * 4);
      for (let p = 0; p < data.length; p++)
        data[p] = p % 4 === 3 ? (alpha ? p & 255 : 255) : (p * 13) & 255;
      const file = await encodeWebpFile({ width, height, data }, r.next() < 0.5);
      results.push(await check(`WebP ${width}x${height}${alpha ? " alpha" : ""}`, file));
    }
    report(results);
    expect(results.every((o) => o.admitted)).toBe(true);
  }, 180_000);
});

describe("the worst admitted lossless WebP", () => {
  it("stays under its estimate at the largest size the budget admits", async () => {
    // The largest square lossless WebP the default budget takes on the WASM path.
    let n = 100;
    const header = (side: number) =>
      probe(new Uint8Array([...riff(side), ...new Uint8Array(64)]), 1_000_000);
    while (estimateBytes(header(n + 50), 1_000_000) <= 100 * 1024 * 1024) n += 50;
    const data = new Uint8ClampedArray(n * n * 4).fill(255);
    const file = await encodeWebpFile({ width: n, height: n, data }, true);
    expect(String.fromCharCode(...file.subarray(12, 16))).toBe("VP8L");
    const r = await processImage(file);
    console.log(
      `${n}x${n} lossless: estimate ${mb(r.estimatedBytes)} MB, peak ${mb(r.peakBytes)} MB`,
    );
    expect(r.peakBytes).toBeLessThanOrEqual(r.estimatedBytes);
    expect(r.estimatedBytes).toBeGreaterThan(90 * 1024 * 1024);
  }, 120_000);
});

const mb = (b: number) => (b / 1024 / 1024).toFixed(1);

/** The first bytes of a lossless WebP of side x side (RIFF, VP8L and its size bits). */
function riff(side: number): number[] {
  const bits = (side - 1) | ((side - 1) << 14);
  return [
    ...[0x52, 0x49, 0x46, 0x46],
    ...[0x40, 0x00, 0x00, 0x00],
    ...[0x57, 0x45, 0x42, 0x50, 0x56, 0x50, 0x38, 0x4c],
    ...[0, 0, 0, 0, 0x2f],
    ...[bits & 255, (bits >>> 8) & 255, (bits >>> 16) & 255, (bits >>> 24) & 255],
  ];
}

/** jSquash's encoder, lossless when asked (method 0: fast). */
async function encodeWebpFile(
  img: { width: number; height: number; data: Uint8ClampedArray },
  lossless: boolean,
): Promise<Uint8Array> {
  if (!lossless) return (await encodeWebp(img, 75, 0)).value;
  return (await encodeWebp(img, 0, 0, { lossless: 1 })).value;
}

/** Prints how close the bound came, among images past the encoder's 16 MB floor. */
function report(results: Outcome[]) {
  const admitted = results.filter((o) => o.admitted && o.estimate > 24 * 1024 * 1024);
  const worst = admitted.reduce<Outcome | null>(
    (w, o) => (w === null || o.peak / o.estimate > w.peak / w.estimate ? o : w),
    null,
  );
  console.log(
    `${results.filter((o) => o.admitted).length}/${results.length} admitted; over 24 MB, highest peak/estimate ${worst ? (worst.peak / worst.estimate).toFixed(2) : "-"} (${worst?.label ?? ""})`,
  );
}
