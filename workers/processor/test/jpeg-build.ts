// Builds valid JPEGs of any size, layout and padding in tests, in microseconds: every block
// is flat grey (DC difference 0, no AC coefficients), coded with one-symbol Huffman tables
// whose only code is the single bit 0. The entropy data is then all zero bits, and its
// length follows exactly from the block counts, so the whole space of headers libjpeg
// admits (dimensions up to 65535, 1/3/4 components, sampling factors, baseline in one scan
// or one scan per component, progressive with any number of scans, APPn/COM padding) can
// be generated without an encoder.

export type JpegSpec = {
  width: number;
  height: number;
  /** Sampling factors [h, v] per component (1 grey, 3 YCbCr, 4 CMYK); default 1x1 grey. */
  sampling?: Array<[number, number]>;
  /**
   * "baseline": one interleaved scan. "separate": baseline, one scan per component (libjpeg
   * buffers every coefficient, as for progressive). "progressive": a DC scan, then a full
   * AC scan per component.
   */
  layout?: "baseline" | "separate" | "progressive";
  /** Progressive: every AC scan this many times (the repeated-scan attack). Default 1. */
  acRepeats?: number;
  /**
   * Progressive: code each AC scan as end-of-band runs of 32,767 blocks (15 bits each)
   * instead of a bit per block, so a scan of a large image takes a few bytes: what makes
   * the repeated-scan attack cheap to send and costly to decode.
   */
  eobRuns?: boolean;
  /** Bytes of COM and APP1 segments (of up to 65,533 bytes each) before the frame. */
  padding?: number;
};

const u16 = (v: number) => [(v >> 8) & 255, v & 255];

function segment(marker: number, data: number[] | Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + data.length);
  out.set([0xff, marker, ...u16(data.length + 2)]);
  out.set(data, 4);
  return out;
}

/** `bits` zero bits, the last byte padded with ones (as an encoder ends a scan). */
function zeroBits(bits: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(bits / 8));
  if (bits % 8 !== 0) out[out.length - 1] = (1 << (8 - (bits % 8))) - 1;
  return out;
}

/** `runs` times the code "0" and 14 one bits (EOB14 with the longest run), byte-stuffed. */
function eobRunBits(runs: number): Uint8Array {
  const bytes: number[] = [];
  let acc = 0;
  let n = 0;
  const put = (bit: number) => {
    acc = (acc << 1) | bit;
    n++;
    if (n === 8) {
      bytes.push(acc);
      if (acc === 0xff) bytes.push(0);
      acc = 0;
      n = 0;
    }
  };
  for (let r = 0; r < runs; r++) {
    put(0);
    for (let i = 0; i < 14; i++) put(1);
  }
  while (n !== 0) put(1);
  return new Uint8Array(bytes);
}

export function buildJpeg(spec: JpegSpec): Uint8Array {
  const sampling = spec.sampling ?? [[1, 1]];
  const layout = spec.layout ?? "baseline";
  const { width: w, height: h } = spec;
  const hmax = Math.max(...sampling.map((s) => s[0]));
  const vmax = Math.max(...sampling.map((s) => s[1]));
  const parts: Uint8Array[] = [new Uint8Array([0xff, 0xd8])];
  for (let left = spec.padding ?? 0, i = 0; left > 0; i++) {
    const n = Math.min(left, 65533);
    parts.push(segment(i % 2 ? 0xfe : 0xe1, new Uint8Array(n).fill(0x20)));
    left -= n;
  }
  parts.push(segment(0xdb, [0, ...new Array(64).fill(1)]));
  const sof = [8, ...u16(h), ...u16(w), sampling.length];
  sampling.forEach(([hs, vs], i) => {
    sof.push(i + 1, (hs << 4) | vs, 0);
  });
  parts.push(segment(layout === "progressive" ? 0xc2 : 0xc0, sof));
  // One DC table (only category 0) and one AC table (only EOB), each the single code "0".
  const one = [1, ...new Array(15).fill(0)];
  parts.push(segment(0xc4, [0x00, ...one, 0x00, 0x10, ...one, spec.eobRuns ? 0xe0 : 0x00]));

  const mcusX = Math.ceil(w / (8 * hmax));
  const mcusY = Math.ceil(h / (8 * vmax));
  /** Blocks of component c in a scan of its own (not padded to whole MCUs). */
  const ownBlocks = (c: number) => {
    const [hs, vs] = sampling[c] ?? [1, 1];
    return Math.ceil(Math.ceil((w * hs) / hmax) / 8) * Math.ceil(Math.ceil((h * vs) / vmax) / 8);
  };
  const interleavedBlocks = () =>
    sampling.length === 1
      ? ownBlocks(0)
      : mcusX * mcusY * sampling.reduce((n, [hs, vs]) => n + hs * vs, 0);
  const scan = (comps: number[], ss: number, se: number, data: Uint8Array) => {
    const head = [comps.length];
    for (const c of comps) head.push(c + 1, 0x00);
    head.push(ss, se, 0);
    parts.push(segment(0xda, head), data);
  };
  const all = sampling.map((_, i) => i);
  if (layout === "baseline") scan(all, 0, 63, zeroBits(interleavedBlocks() * 2));
  else if (layout === "separate") {
    for (const c of all) scan([c], 0, 63, zeroBits(ownBlocks(c) * 2));
  } else {
    scan(all, 0, 0, zeroBits(interleavedBlocks()));
    for (let r = 0; r < (spec.acRepeats ?? 1); r++) {
      for (const c of all) {
        const blocks = ownBlocks(c);
        scan([c], 1, 63, spec.eobRuns ? eobRunBits(Math.ceil(blocks / 32767)) : zeroBits(blocks));
      }
    }
  }
  parts.push(new Uint8Array([0xff, 0xd9]));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
