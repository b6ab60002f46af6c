// Builds GIFs in tests: a screen, one or more frames anywhere on it (or past it), their
// pixels LZW-coded with a clear code every 250 codes (the code size stays 9 bits).
import { concat, u8 } from "./heif-build";

const le16 = (v: number) => Uint8Array.of(v & 255, (v >>> 8) & 255);

export type GifFrame = {
  left?: number;
  top?: number;
  width: number;
  height: number;
  /** Palette index of pixel (x, y) of the frame; omitted: only a few bytes of data. */
  pixel?: (x: number, y: number) => number;
  interlaced?: boolean;
  /** Code only this many rows (in coded order): the data then ends early. */
  codedRows?: number;
};

/** LZW codes (minimum code size 8) of these indices, in data sub-blocks. */
function lzwBlocks(indices: ArrayLike<number>): Uint8Array {
  const codes: number[] = [256];
  for (let i = 0; i < indices.length; i++) {
    if (i > 0 && i % 250 === 0) codes.push(256);
    codes.push(indices[i] ?? 0);
  }
  codes.push(257);
  const bytes: number[] = [];
  let acc = 0;
  let n = 0;
  for (const c of codes) {
    acc |= c << n;
    n += 9;
    while (n >= 8) {
      bytes.push(acc & 255);
      acc >>>= 8;
      n -= 8;
    }
  }
  if (n > 0) bytes.push(acc & 255);
  const blocks: number[] = [8];
  for (let i = 0; i < bytes.length; i += 255) {
    const part = bytes.slice(i, i + 255);
    blocks.push(part.length, ...part);
  }
  blocks.push(0);
  return Uint8Array.from(blocks);
}

/** A GIF89a with a 256-colour global table (index i = grey i) and these frames. */
export function buildGif(
  screen: { width: number; height: number },
  frames: GifFrame[],
): Uint8Array {
  const palette = new Uint8Array(768);
  for (let i = 0; i < 256; i++) palette.set([i, i, i], i * 3);
  const parts: Uint8Array[] = [
    Uint8Array.from("GIF89a", (c) => c.charCodeAt(0)),
    le16(screen.width),
    le16(screen.height),
    u8(0xf7),
    u8(0),
    u8(0),
    palette,
  ];
  for (const f of frames) {
    parts.push(
      u8(0x2c),
      le16(f.left ?? 0),
      le16(f.top ?? 0),
      le16(f.width),
      le16(f.height),
      u8(f.interlaced ? 0x40 : 0),
    );
    const { pixel } = f;
    if (pixel) {
      const coded = Math.min(f.height, f.codedRows ?? f.height);
      const idx = new Uint8Array(f.width * coded);
      const rows: number[] = [];
      if (f.interlaced) {
        for (const [s, step] of [
          [0, 8],
          [4, 8],
          [2, 4],
          [1, 2],
        ] as const)
          for (let y = s; y < f.height; y += step) rows.push(y);
      } else for (let y = 0; y < f.height; y++) rows.push(y);
      rows.slice(0, coded).forEach((y, r) => {
        for (let x = 0; x < f.width; x++) idx[r * f.width + x] = pixel(x, y);
      });
      parts.push(lzwBlocks(idx));
    } else parts.push(Uint8Array.of(8, 1, 0, 0));
  }
  parts.push(u8(0x3b));
  return concat(...parts);
}
