import { describe, expect, it } from "vitest";
import { decodeGifFirstFrame, GifError } from "../src/codecs/gif";
import { processImage } from "../src/image/pipeline";
import { fixture } from "./fixtures";

// GIFs libvips (libnsgif) and browsers open though they break the spec: no colour table
// at all, or an LZW minimum code size over 8.

/**
 * LZW codes for `indices` using literals only (a valid stream any decoder reads): the
 * code size grows as the decoder's dictionary does, and a clear code restarts it before
 * it would pass 12 bits.
 */
function lzwLiterals(indices: number[], minCodeSize: number): Uint8Array {
  const clear = 1 << minCodeSize;
  const bytes: number[] = [];
  let acc = 0;
  let bits = 0;
  const put = (code: number, size: number) => {
    acc |= code << bits;
    bits += size;
    while (bits >= 8) {
      bytes.push(acc & 255);
      acc >>>= 8;
      bits -= 8;
    }
  };
  let size = minCodeSize + 1;
  let next = clear + 2;
  put(clear, size);
  let first = true;
  for (const i of indices) {
    put(i, size);
    if (!first) {
      next += 1;
      if (next === 1 << size && size < 12) size += 1;
    }
    first = false;
    if (next >= 4095) {
      put(clear, size);
      size = minCodeSize + 1;
      next = clear + 2;
      first = true;
    }
  }
  put(clear + 1, size);
  if (bits > 0) bytes.push(acc & 255);
  // Sub-blocks of at most 255 bytes, then the terminator.
  const out: number[] = [minCodeSize];
  for (let i = 0; i < bytes.length; i += 255) {
    const part = bytes.slice(i, i + 255);
    out.push(part.length, ...part);
  }
  out.push(0);
  return Uint8Array.from(out);
}

/** A GIF89a of one w x h frame; `palette` null: no colour table anywhere. */
function gif(w: number, h: number, palette: number[] | null, data: Uint8Array): Uint8Array {
  const screen = [w & 255, w >> 8, h & 255, h >> 8, palette ? 0x80 : 0, 0, 0];
  const table = palette ? [...palette, ...new Array(6 - palette.length).fill(0)] : [];
  const descriptor = [0x2c, 0, 0, 0, 0, w & 255, w >> 8, h & 255, h >> 8, 0];
  return Uint8Array.from([
    ...Array.from("GIF89a", (c) => c.charCodeAt(0)),
    ...screen,
    ...table,
    ...descriptor,
    ...data,
    0x3b,
  ]);
}

const W = 40;
const H = 30;
// A diagonal two-colour pattern: index 1 where (x + y) % 3 == 0.
const pattern = Array.from({ length: W * H }, (_, i) =>
  ((i % W) + Math.floor(i / W)) % 3 === 0 ? 1 : 0,
);

describe("GIFs libvips opens though they break the spec", () => {
  for (const minCodeSize of [9, 11]) {
    it(`decodes an LZW minimum code size of ${minCodeSize}, with a warning`, () => {
      const warnings: string[] = [];
      const img = decodeGifFirstFrame(
        gif(W, H, [200, 0, 0, 0, 0, 200], lzwLiterals(pattern, minCodeSize)),
        warnings,
      );
      for (let i = 0; i < W * H; i++) {
        const px = Array.from(img.data.subarray(i * 4, i * 4 + 4));
        expect(px).toEqual(pattern[i] ? [0, 0, 200, 255] : [200, 0, 0, 255]);
      }
      expect(warnings.join()).toMatch(new RegExp(`code size of ${minCodeSize}`));
    });
  }

  it("still refuses a minimum code size 12-bit codes cannot hold", () => {
    const data = lzwLiterals(pattern, 8);
    data[0] = 12;
    expect(() => decodeGifFirstFrame(gif(W, H, [1, 2, 3], data))).toThrow(GifError);
  });

  it("draws a GIF with no colour table black and white, as browsers and libvips do", async () => {
    const bytes = gif(W, H, null, lzwLiterals(pattern, 2));
    const warnings: string[] = [];
    const img = decodeGifFirstFrame(bytes, warnings);
    for (let i = 0; i < W * H; i++) {
      const v = pattern[i] ? 255 : 0;
      expect(Array.from(img.data.subarray(i * 4, i * 4 + 4))).toEqual([v, v, v, 255]);
    }
    expect(warnings.join()).toMatch(/no colour table/);
    const r = await processImage(bytes);
    expect(r).toMatchObject({ format: "gif", width: W, height: H });
    expect(r.warnings.join()).toMatch(/GIF: no colour table/);
  });

  it("decodes a real GIF stripped of its colour table", () => {
    const still = fixture("still.gif");
    const flags = still[10] ?? 0;
    expect(flags & 0x80).toBe(0x80);
    const table = 3 * (1 << ((flags & 7) + 1));
    const bytes = new Uint8Array(still.length - table);
    bytes.set(still.subarray(0, 13));
    bytes[10] = flags & 0x7f;
    bytes.set(still.subarray(13 + table), 13);
    const img = decodeGifFirstFrame(bytes);
    for (let i = 0; i < img.data.length; i += 4) {
      const [r, g, b, a] = Array.from(img.data.subarray(i, i + 4));
      // Black, white or transparent: nothing else exists without a table.
      expect(a === 0 || (r === g && g === b && (r === 0 || r === 255))).toBe(true);
    }
  });
});
