// Issue 20's containers that lie, rebuilt from its description: every size a decoder
// allocates by is checked against the rest of the file before any decoder runs, and
// reading a file's structure costs work units against a budget that grows with its size.
// Assertions are on what was refused, why, and the work units spent: never on time.
import { describe, expect, it } from "vitest";
import { Av1Error } from "../src/codecs/av1";
import { decodeGifFirstFrame } from "../src/codecs/gif";
import { decodeAvifFit } from "../src/codecs/heif/avif";
import { HEIF_LIMITS } from "../src/codecs/heif/errors";
import { ImageError } from "../src/image/errors";
import { estimateBytes } from "../src/image/estimate";
import { planImage, processImage } from "../src/image/pipeline";
import { probe } from "../src/image/probe";
import { probeHeif } from "../src/image/probe-heif";
import { WorkMeter, workLimit } from "../src/image/work";
import av1Wasm from "../wasm/av1/av1.wasm";
import { fixture } from "./fixtures";
import { buildGif } from "./gif-build";
import {
  box,
  concat,
  hevcSps,
  hvcCBox,
  ispe,
  primaryParts,
  u8,
  u16,
  u32,
  writeHeif,
} from "./heif-build";

const MB = 1024 * 1024;

/** The refusal `work` ends in (an ImageError), or a failure of the test. */
async function refused(work: () => unknown): Promise<ImageError> {
  const err = await Promise.resolve()
    .then(work)
    .then(
      () => null,
      (e: unknown) => e,
    );
  if (!(err instanceof ImageError)) throw new Error(`expected an ImageError, got ${String(err)}`);
  return err;
}

/** Probes the whole file with a meter the test can read. */
function probeWith(file: Uint8Array) {
  const work = WorkMeter.forFile(file.length);
  return { work, run: () => probe(file, file.length, work) };
}

describe("a GIF whose frame is larger than its screen", () => {
  it("refuses the 34-byte GIF of a 65535x65535 frame on a 1x65535 screen from its blocks", async () => {
    // Screen 1x65535, a 2-colour table, a 65535x65535 frame, 1 byte of LZW data.
    const file = concat(
      Uint8Array.from("GIF89a", (c) => c.charCodeAt(0)),
      Uint8Array.of(1, 0, 0xff, 0xff, 0x80, 0, 0),
      Uint8Array.of(0, 0, 0, 255, 255, 255),
      Uint8Array.of(0x2c, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0),
      Uint8Array.of(2, 1, 0x44, 0, 0x3b),
    );
    expect(file.length).toBe(34);
    const { work, run } = probeWith(file);
    const err = await refused(run);
    expect(err.code).toBe("corrupt");
    expect(err.message).toBe(
      "The GIF cannot be read: its first frame (65535x65535 at 0,0) is far larger than its 1x65535 screen",
    );
    expect(work.spent).toBeLessThan(10);
    // The pipeline refuses it at its plan, before the decoder is called.
    expect((await refused(() => processImage(file))).message).toBe(err.message);
  });

  it("clips an 8000x8000 frame on a 1x1 screen to its one visible pixel, walking one row", {
    timeout: 60_000,
  }, async () => {
    const file = buildGif({ width: 1, height: 1 }, [
      { width: 8000, height: 8000, pixel: () => 7, codedRows: 2 },
    ]);
    const img = decodeGifFirstFrame(file);
    expect([img.width, img.height, ...img.data]).toEqual([1, 1, 7, 7, 7, 255]);
    // One row of the frame's width and the LZW tables: not 64 MB of indices.
    expect(img.scratchBytes).toBeLessThan(8000 + 32 * 1024);
    const r = await processImage(file);
    expect(r.peakBytes).toBeLessThanOrEqual(r.estimatedBytes);
    expect(r.estimatedBytes).toBeLessThan(file.length + 32 * MB);
  });

  it("clips a frame that runs a little past its screen, within the screen's estimate", {
    timeout: 60_000,
  }, async () => {
    // 300x200 frame at (10, 20) on a 256x256 screen, interlaced: grey = x.
    const file = buildGif({ width: 256, height: 256 }, [
      { left: 10, top: 20, width: 300, height: 200, interlaced: true, pixel: (x) => x % 256 },
    ]);
    const img = decodeGifFirstFrame(file);
    expect([img.width, img.height]).toEqual([256, 256]);
    // Inside: the frame's pixel; left of the frame and above it: transparent.
    const at = (x: number, y: number) =>
      Array.from(img.data.subarray((y * 256 + x) * 4, (y * 256 + x) * 4 + 4));
    expect(at(255, 219)).toEqual([245, 245, 245, 255]);
    expect(at(9, 100)).toEqual([0, 0, 0, 0]);
    expect(at(100, 220)).toEqual([0, 0, 0, 0]);
    // One row of indices at the frame's width and the LZW tables, never the frame.
    expect(img.scratchBytes).toBeLessThan(300 + 32 * 1024);
    const r = await processImage(file);
    expect(r.peakBytes).toBeLessThanOrEqual(r.estimatedBytes);
    expect(r.estimatedBytes).toBe(estimateBytes(probe(file), file.length));
  });
});

/** An AV1 sequence header OBU (reduced still-picture header) of a `w` x `h` frame. */
function av1SequenceHeader(w: number, h: number): Uint8Array {
  const bits: number[] = [];
  const put = (v: number, n: number) => {
    for (let i = n - 1; i >= 0; i--) bits.push(Math.floor(v / 2 ** i) & 1);
  };
  put(0, 3); // seq_profile
  put(1, 1); // still_picture
  put(1, 1); // reduced_still_picture_header
  put(12, 5); // seq_level_idx
  put(15, 4); // frame_width_bits_minus_1
  put(15, 4);
  put(w - 1, 16);
  put(h - 1, 16);
  while (bits.length % 8) bits.push(0);
  const payload = new Uint8Array(bits.length / 8);
  for (let i = 0; i < payload.length; i++)
    for (let k = 0; k < 8; k++) payload[i] = (payload[i] ?? 0) * 2 + (bits[i * 8 + k] ?? 0);
  // OBU header: type 1 (sequence header), has_size_field; then the size (one leb128 byte).
  return concat(Uint8Array.of((1 << 3) | 2, payload.length), payload);
}

/** Sets every ispe box of a file to `w` x `h` (a copy). */
function withIspe(file: Uint8Array, w: number, h: number): Uint8Array {
  const out = file.slice();
  const dv = new DataView(out.buffer);
  for (let i = 4; i + 16 <= out.length; i++) {
    if (out[i] === 0x69 && out[i + 1] === 0x73 && out[i + 2] === 0x70 && out[i + 3] === 0x65) {
      dv.setUint32(i + 8, w);
      dv.setUint32(i + 12, h);
    }
  }
  return out;
}

describe("an AVIF whose ispe disagrees with its AV1 sequence header", () => {
  it("refuses a 4096x4096 bitstream announced as 64x64 in the probe, before any decoder runs", async () => {
    const seq = av1SequenceHeader(4096, 4096);
    const av1C = box("av1C", Uint8Array.of(0x81, 0x0c, 0x0c, 0), seq);
    const file = writeHeif({
      brand: "avif",
      compat: ["mif1", "avif", "miaf"],
      primary: 1,
      items: [
        {
          id: 1,
          type: "av01",
          data: concat(seq, new Uint8Array(400)),
          props: [ispe(64, 64), av1C],
        },
      ],
    });
    expect(file.length).toBeLessThan(1024);
    const { work, run } = probeWith(file);
    const err = await refused(run);
    expect(err).toMatchObject({
      code: "corrupt",
      message: "The AVIF image 1's AV1 sequence header says 4096x4096 but its ispe says 64x64",
    });
    expect(work.spent).toBeLessThan(50);
    expect((await refused(() => planImage(file, file.length))).message).toBe(err.message);
  });

  it("refuses a real AVIF whose ispe was edited smaller, and still reads the untouched one", async () => {
    const real = fixture("photo.avif");
    const p = probe(real).heif?.heif.primary;
    if (!p) throw new Error("not a HEIF");
    const edited = withIspe(real, 64, 64);
    const err = await refused(() => probe(edited));
    expect(err.code).toBe("corrupt");
    expect(err.message).toMatch(
      new RegExp(`AV1 sequence header says ${p.width}x${p.height} but its ispe says 64x64$`),
    );
  });

  it("runs the AVIF decoder under a heap cap: a decode that needs more is refused, not grown", () => {
    const real = fixture("photo.avif");
    const { heif, width, height } = probeHeif(real, "avif");
    const same = (w: number, h: number) => ({ width: w, height: h });
    // As a grid of one tile the picture is decoded whole and copied into a band: more than
    // the module's 4 MB start (as a single image, dav1d's 256-row window fits in it).
    const { primary } = heif;
    const tile = { ...primary, transforms: [] };
    const oneTile = {
      ...heif,
      primary: {
        ...primary,
        type: "grid" as const,
        coded: null,
        grid: { rows: 1, columns: 1, tiles: [tile] },
      },
    };
    let err: unknown = null;
    try {
      decodeAvifFit(real, oneTile, av1Wasm, same, 2 * MB);
    } catch (e) {
      err = e;
    }
    if (!(err instanceof Av1Error)) throw new Error(`expected an Av1Error, got ${String(err)}`);
    expect(err.code).toBe("too-large");
    const fine = decodeAvifFit(real, heif, av1Wasm, same, 64 * MB);
    expect([fine.value.width, fine.value.height]).toEqual([width, height]);
  });
});

describe("a HEIC whose parts disagree", () => {
  const real = fixture("photo.heic");
  const parts = primaryParts(real, "hvc1");
  const hvcC = parts.box("hvcC");
  /** The photo with `sps` sent in-band before its own data, under its own hvcC and ispe. */
  const withInBandSps = (sps: Uint8Array) =>
    writeHeif({
      primary: 1,
      items: [
        {
          id: 1,
          type: "hvc1",
          data: concat(u32(sps.length), sps, parts.data),
          props: [hvcC, ispe(parts.width, parts.height)],
        },
      ],
    });

  it("refuses an hvcC SPS larger than ispe in the probe", async () => {
    const file = writeHeif({
      primary: 1,
      items: [{ id: 1, type: "hvc1", data: parts.data, props: [hvcC, ispe(64, 64)] }],
    });
    const err = await refused(() => probe(file));
    expect(err.code).toBe("corrupt");
    // The SPS codes whole 8x8 blocks: the real size rounded up.
    expect(err.message).toMatch(
      /^The HEIC image 1's HEVC parameter set \(SPS\) says 80\dx65\d but its ispe says 64x64$/,
    );
  });

  it("refuses an SPS sent in-band, in the item's data, larger than ispe", async () => {
    const err = await refused(() => probe(withInBandSps(hevcSps(8192, 8192))));
    expect(err.message).toBe(
      `The HEIC image 1's HEVC parameter set (SPS) says 8192x8192 but its ispe says ${parts.width}x${parts.height}`,
    );
  });

  it("refuses a 10-bit HEIC whose hvcC claims 8-bit (a smaller estimate) before any decoder runs", async () => {
    const deep = fixture("12mp-10bit.heic");
    const p = primaryParts(deep, "hvc1");
    const claimed = p.box("hvcC").slice();
    // hvcC's payload after its 8-byte header: version, 15 bytes, chroma format, then the
    // luma and chroma bit depths (minus 8, low three bits).
    claimed[8 + 17] = 0xf8;
    claimed[8 + 18] = 0xf8;
    const file = writeHeif({
      primary: 1,
      items: [{ id: 1, type: "hvc1", data: p.data, props: [claimed, ispe(p.width, p.height)] }],
    });
    const err = await refused(() => probe(file));
    expect(err).toMatchObject({
      code: "corrupt",
      message:
        "The HEIC image 1's HEVC parameter set (SPS) codes 10-bit 4:2:0 but its hvcC says 8-bit 4:2:0",
    });
    expect((await refused(() => planImage(file, file.length))).message).toBe(err.message);
    // The file as written decodes: its hvcC and SPS agree.
    expect(probe(deep).heif?.heif.primary.hvcC?.bitDepth).toBe(10);
  });

  it("refuses an SPS sent in-band that codes a deeper, denser format than hvcC says", async () => {
    const sps = hevcSps(parts.width, parts.height, { chroma: 3, depth: 12, depthChroma: 12 });
    const err = await refused(() => probe(withInBandSps(sps)));
    expect(err.message).toBe(
      "The HEIC image 1's HEVC parameter set (SPS) codes 12-bit 4:4:4 but its hvcC says 8-bit 4:2:0",
    );
  });

  it("refuses a grid whose tiles declare different formats (the estimate reads the first)", async () => {
    const [w, h] = [512, 512];
    const tileOf = (
      id: number,
      format: { chroma: number; depth: number; depthChroma: number },
    ) => ({
      id,
      type: "hvc1",
      data: new Uint8Array(64),
      props: [hvcCBox(hevcSps(w, h, format), format), ispe(w, h)],
    });
    const grid = concat(u8(0), u8(0), u8(0), u8(1), u16(w * 2), u16(h));
    const eight = { chroma: 1, depth: 8, depthChroma: 8 };
    const gridOf = (second: typeof eight) =>
      writeHeif({
        primary: 3,
        items: [
          tileOf(1, eight),
          tileOf(2, second),
          { id: 3, type: "grid", idat: grid, props: [ispe(w * 2, h)] },
        ],
        refs: [{ type: "dimg", from: 3, to: [1, 2] }],
      });
    const err = await refused(() => probe(gridOf({ chroma: 3, depth: 12, depthChroma: 12 })));
    expect(err).toMatchObject({
      code: "corrupt",
      message: "The HEIC grid's tiles differ in format (8-bit 4:2:0 and 12-bit 4:4:4)",
    });
    // The same grid of two 8-bit 4:2:0 tiles is described (its estimate is then sound).
    const same = gridOf(eight);
    expect(probe(same).heif?.heif.primary.grid?.tiles.length).toBe(2);
  });

  it("refuses 256 'to the end of the file' extents of a 4 MB file without adding them up", async () => {
    const base = writeHeif({
      primary: 1,
      items: [
        { id: 1, type: "hvc1", data: parts.data, props: [hvcC, ispe(parts.width, parts.height)] },
      ],
    });
    const extents = Array.from({ length: HEIF_LIMITS.maxExtents }, (): [number, number] => [
      base.length - parts.data.length,
      0,
    ]);
    const file = writeHeif({
      primary: 1,
      padTo: 4 * MB,
      items: [{ id: 1, type: "hvc1", extents, props: [hvcC, ispe(parts.width, parts.height)] }],
    });
    expect(file.length).toBe(4 * MB);
    const { work, run } = probeWith(file);
    const err = await refused(run);
    expect(err.code).toBe("corrupt");
    expect(err.message).toMatch(/^The HEIC file's image 1 has data extents that overlap/);
    expect(work.spent).toBeLessThan(1000);
  });

  it("refuses extents that together run past the file even when none overlaps another twice", async () => {
    // Two extents covering the same bytes.
    const base = writeHeif({
      primary: 1,
      items: [
        { id: 1, type: "hvc1", data: parts.data, props: [hvcC, ispe(parts.width, parts.height)] },
      ],
    });
    const at = base.length - parts.data.length;
    const file = writeHeif({
      primary: 1,
      items: [
        {
          id: 1,
          type: "hvc1",
          extents: [
            [at, 100],
            [at + 50, 100],
          ],
          props: [hvcC, ispe(parts.width, parts.height)],
        },
      ],
      padTo: base.length,
    });
    expect((await refused(() => probe(file))).message).toMatch(
      /extents that overlap \(bytes \d+-\d+ twice\)/,
    );
  });
});

describe("property-association and tile storms", () => {
  const parts = primaryParts(fixture("photo.heic"), "hvc1");
  const hvcC = parts.box("hvcC");
  const tile = {
    id: 1,
    type: "hvc1",
    data: parts.data,
    props: [hvcC, ispe(parts.width, parts.height)],
  };

  it("caps the associations of one item across ipma entries", async () => {
    const storm: Array<[number, number[]]> = Array.from({ length: 4000 }, () => [1, [1, 2]]);
    const file = writeHeif({ primary: 1, items: [tile], extraAssociations: storm });
    const { work, run } = probeWith(file);
    const err = await refused(run);
    expect(err).toMatchObject({
      code: "too_large",
      message: `The HEIC item 1 has more than ${HEIF_LIMITS.maxAssociations} property associations`,
    });
    expect(work.spent).toBeLessThan(500);
  });

  it("reads a ~200 KB meta box of associations in work linear in its entries", async () => {
    // 4,000 items' worth of ipma entries (items nobody uses), 24 associations each.
    const idx = Array.from({ length: 24 }, (_, k) => 1 + (k % 2));
    const storm = Array.from({ length: 4000 }, (_, i): [number, number[]] => [100 + i, idx]);
    const file = writeHeif({ primary: 1, items: [tile], extraAssociations: storm });
    expect(file.length).toBeGreaterThan(200_000);
    const { work, run } = probeWith(file);
    expect(run().width).toBe(parts.width);
    // One unit per entry and association, a few dozen for the rest.
    expect(work.spent).toBeLessThanOrEqual(4000 * 25 + 200);
    expect(work.spent).toBeLessThan(work.limit);
  });

  it("describes a grid of 1,024 tiles naming the same item once, its hvcC parsed once", async () => {
    const grid = concat(u8(0), u8(0), u8(31), u8(31), new Uint8Array([0, 0, 0, 0]));
    // 32x32 tiles of 800x652: the output must lie within them (25600x20864).
    const dv = new DataView(grid.buffer);
    dv.setUint16(4, parts.width * 32);
    dv.setUint16(6, parts.height * 32);
    const file = writeHeif({
      primary: 2,
      items: [
        tile,
        { id: 2, type: "grid", idat: grid, props: [ispe(parts.width * 32, parts.height * 32)] },
      ],
      refs: [{ type: "dimg", from: 2, to: Array.from({ length: 1024 }, () => 1) }],
    });
    const { work, run } = probeWith(file);
    const p = run();
    expect(p.heif?.heif.primary.grid?.tiles.length).toBe(1024);
    // Every tile is the same description (one parse, one hvcC copy).
    const tiles = p.heif?.heif.primary.grid?.tiles ?? [];
    expect(new Set(tiles).size).toBe(1);
    // 1,024 references, 1,024 tile visits, 1,024 look-ups, and the rest: a few hundred.
    expect(work.spent).toBeLessThan(3 * 1024 + 400);
    // Then the pixel cap refuses the 534 MP it would make.
    expect((await refused(() => planImage(file, file.length))).code).toBe("too_large");
  });

  it("refuses a file whose structure needs more than its work budget, with the reason", async () => {
    const file = fixture("photo.heic");
    const tight = new WorkMeter(20);
    const err = await refused(() => probe(file, file.length, tight));
    expect(err.code).toBe("too_large");
    expect(err.message).toMatch(
      /^The file's structure costs more than 20 work units to read \(at /,
    );
    // The same file within its own budget: a small part of it.
    const { work, run } = probeWith(file);
    run();
    expect(work.spent).toBeGreaterThan(20);
    expect(work.spent).toBeLessThan(workLimit(file.length) / 100);
  });
});

describe("every format's walk draws from the budget", () => {
  it("charges JPEG markers, PNG chunks, GIF blocks, RIFF chunks and HEIF boxes", () => {
    for (const name of [
      "concert.jpg",
      "blackbug.png",
      "Crash_test.gif",
      "5_webp_a.webp",
      "photo.avif",
    ]) {
      const file = fixture(name);
      const { work, run } = probeWith(file);
      run();
      expect(work.spent, name).toBeGreaterThan(1);
      expect(work.spent, name).toBeLessThan(work.limit);
    }
  });
});
