// Builds small PNGs in tests: any colour type, bit depth, filter and interlace, so the
// decoders can be compared on every combination the format allows.

export type PngSpec = {
  width: number;
  height: number;
  /** 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA. */
  colorType: 0 | 2 | 3 | 4 | 6;
  bitDepth: 1 | 2 | 4 | 8 | 16;
  interlaced?: boolean;
  /** 0..4, or "cycle" to use filter (row % 5) on each row. */
  filter?: number | "cycle";
  /** Sample c of pixel (x, y), within the bit depth (palette: an index). */
  sample: (x: number, y: number, c: number) => number;
  palette?: Array<[number, number, number]>;
  /** Raw tRNS chunk data. */
  trns?: Uint8Array;
  /** Extra chunks written before IDAT (type, data). */
  extra?: Array<[string, Uint8Array]>;
  /** Split the compressed data into IDAT chunks of this size. */
  idatSize?: number;
};

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

export async function deflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data]).stream().pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Packs one row of samples at the bit depth, MSB first. */
function packRow(spec: PngSpec, xs: number[], y: number): Uint8Array {
  const ch = CHANNELS[spec.colorType] ?? 1;
  const d = spec.bitDepth;
  const bytes = new Uint8Array(Math.ceil((xs.length * ch * d) / 8));
  let bit = 0;
  for (const x of xs) {
    for (let c = 0; c < ch; c++) {
      const v = spec.sample(x, y, c);
      if (d === 16) {
        bytes[bit >> 3] = v >> 8;
        bytes[(bit >> 3) + 1] = v & 255;
      } else if (d === 8) {
        bytes[bit >> 3] = v;
      } else {
        const i = bit >> 3;
        bytes[i] = (bytes[i] ?? 0) | ((v & ((1 << d) - 1)) << (8 - d - (bit & 7)));
      }
      bit += d;
    }
  }
  return bytes;
}

function filterRow(type: number, cur: Uint8Array, prev: Uint8Array, bpp: number): Uint8Array {
  const out = new Uint8Array(cur.length + 1);
  out[0] = type;
  for (let i = 0; i < cur.length; i++) {
    const a = i >= bpp ? (cur[i - bpp] ?? 0) : 0;
    const b = prev[i] ?? 0;
    const c = i >= bpp ? (prev[i - bpp] ?? 0) : 0;
    let pred = 0;
    if (type === 1) pred = a;
    else if (type === 2) pred = b;
    else if (type === 3) pred = (a + b) >> 1;
    else if (type === 4) {
      const p = a + b - c;
      const pa = Math.abs(p - a);
      const pb = Math.abs(p - b);
      const pc = Math.abs(p - c);
      pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
    out[i + 1] = ((cur[i] ?? 0) - pred) & 255;
  }
  return out;
}

/** The filtered, uncompressed image data (all passes when interlaced). */
export function rawImageData(spec: PngSpec): Uint8Array {
  const ch = CHANNELS[spec.colorType] ?? 1;
  const bpp = Math.max(1, (ch * spec.bitDepth) >> 3);
  const parts: Uint8Array[] = [];
  const passes = spec.interlaced ? ADAM7 : ([[0, 0, 1, 1]] as const);
  let row = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const xs: number[] = [];
    for (let x = x0; x < spec.width; x += dx) xs.push(x);
    if (xs.length === 0) continue;
    let prev: Uint8Array = new Uint8Array(Math.ceil((xs.length * ch * spec.bitDepth) / 8));
    for (let y = y0; y < spec.height; y += dy) {
      const cur = packRow(spec, xs, y);
      const f = spec.filter ?? 0;
      parts.push(filterRow(f === "cycle" ? row % 5 : f, cur, prev, bpp));
      prev = cur;
      row++;
    }
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function assemble(spec: PngSpec, compressed: Uint8Array): Uint8Array {
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, spec.width);
  dv.setUint32(4, spec.height);
  ihdr.set([spec.bitDepth, spec.colorType, 0, 0, spec.interlaced ? 1 : 0], 8);
  const chunks = [chunk("IHDR", ihdr)];
  for (const [type, data] of spec.extra ?? []) chunks.push(chunk(type, data));
  if (spec.palette) chunks.push(chunk("PLTE", new Uint8Array(spec.palette.flat())));
  if (spec.trns) chunks.push(chunk("tRNS", spec.trns));
  const size = spec.idatSize ?? compressed.length;
  for (let o = 0; o < compressed.length || o === 0; o += size) {
    chunks.push(chunk("IDAT", compressed.subarray(o, o + size)));
    if (size === 0) break;
  }
  chunks.push(chunk("IEND", new Uint8Array(0)));
  const sig = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const total = sig.length + chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(total);
  out.set(sig);
  let o = sig.length;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

export async function buildPng(spec: PngSpec): Promise<Uint8Array> {
  return assemble(spec, await deflate(rawImageData(spec)));
}
