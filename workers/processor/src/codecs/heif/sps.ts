import type { WorkMeter } from "../../image/work";
import type { CodedFormat } from "./format";
import type { ByteSource } from "./spans";

/** What libde265 allocates a picture by: its coded size and sample format. */
export type Sps = CodedFormat & { width: number; height: number };

/**
 * The coded picture size and sample format of an HEVC sequence parameter set (H.265
 * 7.3.2.2), read before libde265 sees it: libde265 allocates its frame from the SPS, so a
 * file whose SPS is larger, deeper or denser than its container says would otherwise make
 * it allocate what the budget never approved.
 */
export function hvcCSps(nals: Uint8Array): Sps | null {
  // nals: 4-byte length-prefixed NAL units (hvcC's arrays); SPS is NAL type 33.
  for (let p = 0; p + 4 <= nals.length; ) {
    const len =
      ((nals[p] ?? 0) << 24) |
      ((nals[p + 1] ?? 0) << 16) |
      ((nals[p + 2] ?? 0) << 8) |
      (nals[p + 3] ?? 0);
    const nal = nals.subarray(p + 4, p + 4 + len);
    p += 4 + len;
    if ((((nal[0] ?? 0) >> 1) & 0x3f) !== 33) continue;
    return parseSps(unescapeRbsp(nal.subarray(2, 200)));
  }
  return null;
}

/**
 * Every SPS sent in-band, among an item's coded NAL units
 * (`lengthSize`-byte lengths, hvcC's lengthSizeMinusOne + 1): libde265 takes a parameter
 * set from the data as readily as from hvcC. One work unit per NAL unit (headers only).
 * `null` for an SPS it cannot read.
 */
export function inBandSps(
  data: ByteSource,
  lengthSize: number,
  work: WorkMeter,
): Array<Sps | null> {
  const sizes: Array<Sps | null> = [];
  for (let p = 0; p + lengthSize <= data.length; ) {
    work.charge(1, "an HEVC NAL unit");
    let len = 0;
    for (let i = 0; i < lengthSize; i++) len = len * 256 + (data.at(p + i) ?? 0);
    const start = p + lengthSize;
    p = start + len;
    if ((((data.at(start) ?? 0) >> 1) & 0x3f) === 33)
      sizes.push(parseSps(unescapeRbsp(data.slice(start + 2, Math.min(p, start + 200)))));
  }
  return sizes;
}

/** Removes emulation-prevention bytes (00 00 03 → 00 00). */
function unescapeRbsp(b: Uint8Array): Uint8Array {
  const out: number[] = [];
  let zeros = 0;
  for (const v of b) {
    if (zeros >= 2 && v === 3) {
      zeros = 0;
      continue;
    }
    out.push(v);
    zeros = v === 0 ? zeros + 1 : 0;
  }
  return Uint8Array.from(out);
}

function parseSps(b: Uint8Array): Sps | null {
  let bit = 0;
  const u = (n: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++, bit++) {
      if (bit >= b.length * 8) throw new RangeError("SPS cut short");
      v = v * 2 + (((b[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1);
    }
    return v;
  };
  const ue = (): number => {
    let zeros = 0;
    while (u(1) === 0) if (++zeros > 31) throw new RangeError("bad exp-Golomb code");
    return 2 ** zeros - 1 + u(zeros);
  };
  try {
    u(4); // sps_video_parameter_set_id
    const maxSubLayersMinus1 = u(3);
    u(1); // temporal_id_nesting
    u(88); // general profile: space, tier, idc, compatibility flags, constraint flags
    u(8); // general_level_idc
    const present: [number, number][] = [];
    for (let i = 0; i < maxSubLayersMinus1; i++) present.push([u(1), u(1)]);
    if (maxSubLayersMinus1 > 0) for (let i = maxSubLayersMinus1; i < 8; i++) u(2);
    for (const [profile, level] of present) {
      if (profile) u(88);
      if (level) u(8);
    }
    ue(); // sps_seq_parameter_set_id
    const chroma = ue(); // chroma_format_idc
    if (chroma > 3) return null;
    if (chroma === 3) u(1); // separate_colour_plane_flag
    const width = ue();
    const height = ue();
    if (u(1)) for (let i = 0; i < 4; i++) ue(); // conformance window offsets
    const depth = ue() + 8; // bit_depth_luma_minus8
    const depthChroma = ue() + 8;
    return { width, height, chroma, depth, depthChroma };
  } catch {
    return null;
  }
}
