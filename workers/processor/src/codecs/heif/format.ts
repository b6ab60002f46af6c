import type { HeifImageItem } from "./types";

/**
 * The sample format a coded image's decoder configuration (hvcC, av1C) declares. The
 * memory estimate and the band a decoder writes into are sized from it, while the
 * decoders allocate from the bitstream's own header (HEVC's SPS, AV1's sequence header):
 * the two are checked to agree before any decoder runs.
 */
export type CodedFormat = {
  /** 0: 4:0:0, 1: 4:2:0, 2: 4:2:2, 3: 4:4:4 (HEVC's chroma_format_idc, AV1's layout). */
  chroma: number;
  /** Bits per luma sample. */
  depth: number;
  /** Bits per chroma sample (AV1: the luma's). */
  depthChroma: number;
};

const CHROMA = ["4:0:0", "4:2:0", "4:2:2", "4:4:4"];

/** av1C's format (byte 2: high_bitdepth, twelve_bit, monochrome, subsampling x/y). */
export function av1cFormat(av1C: Uint8Array | null): { depth: number; layout: number } {
  // Without one, the worst: 12-bit 4:4:4 (the container refuses an AVIF without av1C).
  if (!av1C || av1C.length < 4) return { depth: 12, layout: 3 };
  const b = av1C[2] ?? 0;
  const depth = b & 0x40 ? (b & 0x20 ? 12 : 10) : 8;
  const layout = b & 0x10 ? 0 : b & 0x08 ? (b & 0x04 ? 1 : 2) : 3;
  return { depth, layout };
}

/** What a coded image's hvcC or av1C declares; null for a derived image (grid, overlay). */
export function declaredFormat(img: HeifImageItem): CodedFormat | null {
  if (img.hvcC) {
    const { chromaFormat, bitDepth, bitDepthChroma } = img.hvcC;
    return { chroma: chromaFormat, depth: bitDepth, depthChroma: bitDepthChroma };
  }
  if (img.av1C) {
    const { depth, layout } = av1cFormat(img.av1C);
    return { chroma: layout, depth, depthChroma: depth };
  }
  return null;
}

export function sameFormat(a: CodedFormat, b: CodedFormat): boolean {
  return a.chroma === b.chroma && a.depth === b.depth && a.depthChroma === b.depthChroma;
}

/** "10-bit 4:2:0" (or "8/10-bit 4:2:0" when chroma is deeper than luma). */
export function formatName(f: CodedFormat): string {
  const depth = f.depth === f.depthChroma ? `${f.depth}` : `${f.depth}/${f.depthChroma}`;
  return `${depth}-bit ${CHROMA[f.chroma] ?? `chroma format ${f.chroma}`}`;
}
