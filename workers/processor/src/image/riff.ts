/**
 * The chunk headers of a RIFF/WebP file, walked against the work budget (./work.ts): one
 * unit per chunk, no data read. A chunk that runs past the RIFF payload ends the walk
 * (damage is libwebp's to report; the probe reads the header chunk itself).
 */
import type { WorkMeter } from "./work";

const u32le = (b: Uint8Array, i: number) =>
  ((b[i] ?? 0) | ((b[i + 1] ?? 0) << 8) | ((b[i + 2] ?? 0) << 16)) + (b[i + 3] ?? 0) * 2 ** 24;

/** Number of chunks walked in `b` (the start of a `fileBytes`-long RIFF file). */
export function walkRiff(b: Uint8Array, fileBytes: number, work: WorkMeter): number {
  const end = Math.min(b.length, fileBytes, u32le(b, 4) + 8);
  let chunks = 0;
  for (let p = 12; p + 8 <= end; ) {
    work.charge(1, "a RIFF chunk");
    chunks += 1;
    const size = u32le(b, p + 4);
    // Chunks are padded to an even size.
    p += 8 + size + (size & 1);
  }
  return chunks;
}
