// Hostile files made from scratch, one shape per draw: fields that disagree (a frame vs
// its screen, ispe vs the bitstream, a grid vs its tiles), repeats (tiles, associations,
// extents, scans, chunks) and extremes (every dimension field at its edges). They reach
// deeper than mutants of valid files because every other field is right.
import { buildGif } from "../gif-build";
import { box, concat, hevcSps, ispe, u8, u16, u32, writeHeif } from "../heif-build";
import { zeroPng } from "../hostile-files";
import { buildJpeg } from "../jpeg-build";
import type { Rng } from "../rng";

/** Parts of a real HEIC and AVIF the HEIF shapes are built around. */
export type HeifParts = {
  hvcC: Uint8Array;
  hevcData: Uint8Array;
  hevcSize: { width: number; height: number };
  av1C: Uint8Array;
  av1Data: Uint8Array;
  av1Size: { width: number; height: number };
};

const edge = (r: Rng) => r.pick([1, 2, 7, 64, 255, 256, 4096, 8000, 16384, 65535]);

function synthGif(r: Rng): Uint8Array {
  const screen = { width: edge(r), height: edge(r) };
  const width = edge(r);
  const height = edge(r);
  const small = width * height <= 250_000;
  return buildGif(screen, [
    {
      left: r.pick([0, 0, 1, 100, 65535 - width]),
      top: r.pick([0, 0, 1, 100]),
      width,
      height,
      interlaced: r.next() < 0.3,
      pixel: small ? (x, y) => (x + y) & 255 : undefined,
    },
    ...(r.next() < 0.3 ? [{ width: edge(r), height: edge(r) }] : []),
  ]);
}

function synthJpeg(r: Rng): Uint8Array {
  const width = r.pick([1, 8, 64, 333, 2000]);
  const height = r.pick([1, 8, 64, 333, 2000]);
  const layout = r.pick(["baseline", "separate", "progressive"] as const);
  return buildJpeg({
    width,
    height,
    layout,
    sampling:
      r.next() < 0.5
        ? undefined
        : [
            r.pick([
              [1, 1],
              [2, 2],
              [4, 1],
            ] as Array<[number, number]>),
            [1, 1],
            [1, 1],
          ],
    acRepeats: layout === "progressive" ? r.pick([1, 2, 40, 101]) : 1,
    padding: r.next() < 0.2 ? r.int(0, 200_000) : 0,
  });
}

async function synthPng(r: Rng): Promise<Uint8Array> {
  const width = r.pick([1, 3, 64, 1000, 300_000]);
  const height = r.pick([1, 2, 64, 500]);
  if (width * height > 2_000_000) return zeroPng(width, 1, { bitDepth: 1 });
  const text = new TextEncoder().encode("k\0v");
  return zeroPng(width, height, {
    bitDepth: r.pick([1, 8] as const),
    idatSize: r.pick([undefined, 1, 7, 4096]),
    extra:
      r.next() < 0.3
        ? Array.from({ length: r.pick([1, 500, 1001]) }, (): [string, Uint8Array] => ["tEXt", text])
        : [],
  });
}

/** An AV1 sequence header OBU (reduced still-picture header) of a w x h frame. */
function av1Seq(w: number, h: number): Uint8Array {
  const bits: number[] = [];
  const put = (v: number, n: number) => {
    for (let i = n - 1; i >= 0; i--) bits.push(Math.floor(v / 2 ** i) & 1);
  };
  put(0, 3);
  put(1, 1);
  put(1, 1);
  put(12, 5);
  put(15, 4);
  put(15, 4);
  put(w - 1, 16);
  put(h - 1, 16);
  while (bits.length % 8) bits.push(0);
  const payload = new Uint8Array(bits.length / 8);
  for (let i = 0; i < payload.length; i++)
    for (let k = 0; k < 8; k++) payload[i] = (payload[i] ?? 0) * 2 + (bits[i * 8 + k] ?? 0);
  return concat(Uint8Array.of((1 << 3) | 2, payload.length), payload);
}

function synthHeif(r: Rng, h: HeifParts): Uint8Array {
  const avif = r.next() < 0.4;
  const size = avif ? h.av1Size : h.hevcSize;
  const w = r.next() < 0.5 ? size.width : edge(r);
  const ht = r.next() < 0.5 ? size.height : edge(r);
  const config = avif ? h.av1C : h.hvcC;
  let data = avif ? h.av1Data : h.hevcData;
  const shape = r.int(0, 4);
  if (shape === 0 && avif) {
    // A sequence header of its own size in the data.
    const s = av1Seq(edge(r), edge(r));
    data = concat(s, data);
  } else if (shape === 0) {
    const sps = hevcSps(edge(r), edge(r));
    data = concat(u32(sps.length), sps, data);
  }
  const coded = { id: 1, type: avif ? "av01" : "hvc1", data, props: [config, ispe(w, ht)] };
  const brand = avif ? { brand: "avif", compat: ["mif1", "avif", "miaf"] } : {};
  if (shape === 1) {
    // A grid of one tile repeated, its output any size.
    const rows = r.pick([1, 2, 32]);
    const cols = r.pick([1, 2, 32]);
    const grid = concat(
      u8(0),
      u8(1),
      u8(rows - 1),
      u8(cols - 1),
      u32(w * cols - r.int(0, 1)),
      u32(ht * rows),
    );
    return writeHeif({
      ...brand,
      primary: 2,
      items: [coded, { id: 2, type: "grid", idat: grid, props: [ispe(w * cols, ht * rows)] }],
      refs: [
        { type: "dimg", from: 2, to: Array.from({ length: rows * cols + r.int(-1, 1) }, () => 1) },
      ],
    });
  }
  if (shape === 2) {
    // Association storms over the primary or over items nobody uses.
    const n = r.pick([10, 200, 4000]);
    return writeHeif({
      ...brand,
      primary: 1,
      items: [coded],
      extraAssociations: Array.from({ length: n }, (_, i): [number, number[]] => [
        r.next() < 0.5 ? 1 : 100 + i,
        [1, 2, 1],
      ]),
    });
  }
  if (shape === 3) {
    // Extents: repeated, to the end of the file, past it.
    const base = writeHeif({ ...brand, primary: 1, items: [coded] });
    const at = base.length - data.length;
    const extents = Array.from({ length: r.pick([1, 2, 256]) }, (): [number, number] => [
      at + r.pick([0, 0, 10, -at]),
      r.pick([0, data.length, 100, 0xffffffff]),
    ]);
    return writeHeif({
      ...brand,
      primary: 1,
      items: [{ ...coded, extents }],
      padTo: base.length + r.pick([0, 4 << 20]),
    });
  }
  if (shape === 4) {
    // An alpha or thumbnail item that refers back to the primary, and a self-reference.
    const aux = box(
      "auxC",
      u8(0),
      u8(0),
      u16(0),
      new TextEncoder().encode("urn:mpeg:mpegB:cicp:systems:auxiliary:alpha\0"),
    );
    return writeHeif({
      ...brand,
      primary: 1,
      items: [
        coded,
        { id: 3, type: coded.type, data, props: [config, ispe(edge(r), edge(r)), aux] },
      ],
      refs: [
        { type: "auxl", from: 3, to: [1] },
        { type: "dimg", from: 1, to: [1] },
        { type: "cdsc", from: 1, to: [1] },
      ],
    });
  }
  return writeHeif({ ...brand, primary: 1, items: [coded] });
}

/** One hostile file of a random format and shape. */
export async function synthesize(
  r: Rng,
  heif: HeifParts,
): Promise<{ label: string; file: Uint8Array }> {
  const kind = r.pick(["gif", "jpeg", "png", "heif", "heif"] as const);
  if (kind === "gif") return { label: "synth gif", file: synthGif(r) };
  if (kind === "jpeg") return { label: "synth jpeg", file: synthJpeg(r) };
  if (kind === "png") return { label: "synth png", file: await synthPng(r) };
  return { label: "synth heif", file: synthHeif(r, heif) };
}
