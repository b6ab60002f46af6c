/**
 * The largest frame an AV1 bitstream may code, from its sequence header OBUs (AV1 spec
 * 5.3 OBU syntax, 5.5 sequence header OBU syntax): read in the probe, before any decoder
 * runs, because dav1d allocates its frames (and libavif its planes) from the sequence
 * header, not from the container's `ispe`.
 */
import type { WorkMeter } from "../../image/work";
import type { ByteSource } from "./spans";

export type Av1Size = { width: number; height: number };

const OBU_SEQUENCE_HEADER = 1;
/** Bytes of a sequence header read: enough for every field up to the frame size. */
const SEQUENCE_HEADER_READ = 512;

/**
 * Every sequence header's max_frame_width/height in a run of OBUs (av1C's configOBUs, or
 * an item's data), walking OBU headers only: one work unit per OBU. An OBU without a size
 * field runs to the end (the low-overhead format allows that for the last one). Throws
 * RangeError when a sequence header or an OBU header is cut short.
 */
export function av1SequenceSizes(obus: ByteSource, work: WorkMeter): Av1Size[] {
  const sizes: Av1Size[] = [];
  for (let p = 0; p < obus.length; ) {
    work.charge(1, "an AV1 OBU");
    const header = obus.at(p) ?? 0;
    if (header & 0x80) throw new RangeError("OBU forbidden bit set");
    const type = (header >> 3) & 15;
    const extension = (header >> 2) & 1;
    const hasSize = (header >> 1) & 1;
    let q = p + 1 + extension;
    let size = obus.length - q;
    if (hasSize) {
      const v = leb128(obus, q);
      q += v.bytes;
      size = v.value;
    }
    if (q > obus.length || q + size > obus.length) throw new RangeError("OBU runs past its data");
    // A sequence header's fields end within ~40 bytes (32 operating points take more:
    // then it is cut short and refused).
    if (type === OBU_SEQUENCE_HEADER)
      sizes.push(sequenceHeaderSize(obus.slice(q, q + Math.min(size, SEQUENCE_HEADER_READ))));
    p = q + size;
  }
  return sizes;
}

/** leb128(): at most 8 bytes, values up to 2^32 - 1 (AV1 spec 4.10.5). */
function leb128(b: ByteSource, at: number): { value: number; bytes: number } {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const byte = at + i < b.length ? b.at(at + i) : undefined;
    if (byte === undefined) throw new RangeError("leb128 cut short");
    value += (byte & 0x7f) * 2 ** (7 * i);
    if (!(byte & 0x80)) {
      if (value > 0xffffffff) throw new RangeError("leb128 too large");
      return { value, bytes: i + 1 };
    }
  }
  throw new RangeError("leb128 too long");
}

/** max_frame_width_minus_1 + 1 and max_frame_height_minus_1 + 1 of one sequence header. */
function sequenceHeaderSize(b: Uint8Array): Av1Size {
  let bit = 0;
  const f = (n: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++, bit++) {
      if (bit >= b.length * 8) throw new RangeError("sequence header cut short");
      v = v * 2 + (((b[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1);
    }
    return v;
  };
  const uvlc = () => {
    let zeros = 0;
    while (f(1) === 0) if (++zeros >= 32) throw new RangeError("bad uvlc");
    f(zeros);
  };
  f(3); // seq_profile
  f(1); // still_picture
  const reduced = f(1);
  if (reduced) {
    f(5); // seq_level_idx[0]
  } else {
    let decoderModel = 0;
    let bufferDelayBits = 0;
    if (f(1)) {
      // timing_info()
      f(32);
      f(32);
      if (f(1)) uvlc();
      decoderModel = f(1);
      if (decoderModel) {
        bufferDelayBits = f(5) + 1;
        f(32);
        f(5);
        f(5);
      }
    }
    const initialDisplayDelay = f(1);
    const points = f(5) + 1;
    for (let i = 0; i < points; i++) {
      f(12); // operating_point_idc
      if (f(5) > 7) f(1); // seq_level_idx, seq_tier
      if (decoderModel && f(1)) {
        f(bufferDelayBits);
        f(bufferDelayBits);
        f(1);
      }
      if (initialDisplayDelay && f(1)) f(4);
    }
  }
  const widthBits = f(4) + 1;
  const heightBits = f(4) + 1;
  return { width: f(widthBits) + 1, height: f(heightBits) + 1 };
}
