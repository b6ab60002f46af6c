/**
 * Where a zlib stream ends, found by walking its deflate blocks without inflating them
 * (RFC 1950/1951: block headers, Huffman tables and the codes of each symbol, extra bits
 * skipped; no window, no output). The platform's DecompressionStream refuses bytes after
 * the end of the stream ("Trailing bytes after end of compressed data") and drops the
 * output it had, while libpng and libvips stop at the end and decode the PNG: with this
 * the PNG decoder feeds the stream exactly, and decodes such a file too.
 *
 * Cost: one pass over the bits (each step consumes at least one), at most 15 steps per
 * Huffman code; a table is built per dynamic block from at most 320 code lengths.
 */

/** The data as consecutive pieces (a PNG's IDAT chunks), read bit by bit, LSB first. */
class Bits {
  private piece: Uint8Array = new Uint8Array(0);
  private at = 0;
  private bit = 0;
  private byte = 0;
  /** Bytes consumed before the current piece. */
  private before = 0;
  private readonly pieces: Iterator<Uint8Array>;
  constructor(pieces: Iterable<Uint8Array>) {
    this.pieces = pieces[Symbol.iterator]();
  }

  private nextByte(): number {
    for (;;) {
      if (this.at < this.piece.length) return this.piece[this.at++] ?? 0;
      const next = this.pieces.next();
      if (next.done) throw new RangeError("end of data");
      this.before += this.piece.length;
      this.piece = next.value;
      this.at = 0;
    }
  }

  read(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      if (this.bit === 0) this.byte = this.nextByte();
      v |= ((this.byte >> this.bit) & 1) << i;
      this.bit = (this.bit + 1) & 7;
    }
    return v;
  }

  align(): void {
    this.bit = 0;
  }

  skipBytes(n: number): void {
    for (let i = 0; i < n; i++) this.nextByte();
  }

  /** Bytes consumed so far (a partly read byte counts). */
  offset(): number {
    return this.before + this.at;
  }
}

/** A canonical Huffman code: how many codes of each length, and the symbols in order. */
type Huffman = { counts: Uint16Array; symbols: Uint16Array };

function huffman(lengths: ArrayLike<number>, n: number): Huffman {
  const counts = new Uint16Array(16);
  for (let i = 0; i < n; i++) counts[lengths[i] ?? 0] = (counts[lengths[i] ?? 0] ?? 0) + 1;
  counts[0] = 0;
  const offs = new Uint16Array(16);
  for (let len = 1; len < 15; len++) offs[len + 1] = (offs[len] ?? 0) + (counts[len] ?? 0);
  const symbols = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const len = lengths[i] ?? 0;
    if (len === 0) continue;
    const o = offs[len] ?? 0;
    symbols[o] = i;
    offs[len] = o + 1;
  }
  return { counts, symbols };
}

function decode(bits: Bits, h: Huffman): number {
  let code = 0;
  let first = 0;
  let index = 0;
  for (let len = 1; len <= 15; len++) {
    code |= bits.read(1);
    const count = h.counts[len] ?? 0;
    if (code - first < count) return h.symbols[index + code - first] ?? 0;
    index += count;
    first = (first + count) << 1;
    code <<= 1;
  }
  throw new RangeError("bad Huffman code");
}

const LENGTH_EXTRA = [
  0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_EXTRA = [
  0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
];
const ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

const FIXED = (() => {
  const l = new Uint8Array(288);
  l.fill(8, 0, 144);
  l.fill(9, 144, 256);
  l.fill(7, 256, 280);
  l.fill(8, 280, 288);
  return { lit: huffman(l, 288), dist: huffman(new Uint8Array(30).fill(5), 30) };
})();

/** Skips one block's symbols up to its end-of-block code. */
function skipCodes(bits: Bits, lit: Huffman, dist: Huffman): void {
  for (;;) {
    const sym = decode(bits, lit);
    if (sym < 256) continue;
    if (sym === 256) return;
    if (sym > 285) throw new RangeError("bad length code");
    bits.read(LENGTH_EXTRA[sym - 257] ?? 0);
    const d = decode(bits, dist);
    if (d > 29) throw new RangeError("bad distance code");
    bits.read(DIST_EXTRA[d] ?? 0);
  }
}

function dynamicTables(bits: Bits): { lit: Huffman; dist: Huffman } {
  const nlen = bits.read(5) + 257;
  const ndist = bits.read(5) + 1;
  const ncode = bits.read(4) + 4;
  if (nlen > 286 || ndist > 30) throw new RangeError("bad table sizes");
  const lengths = new Uint8Array(320);
  for (let i = 0; i < ncode; i++) lengths[ORDER[i] ?? 0] = bits.read(3);
  const lencode = huffman(lengths, 19);
  const all = new Uint8Array(nlen + ndist);
  for (let i = 0; i < nlen + ndist; ) {
    const sym = decode(bits, lencode);
    if (sym < 16) {
      all[i++] = sym;
      continue;
    }
    let value = 0;
    let repeat: number;
    if (sym === 16) {
      if (i === 0) throw new RangeError("repeat with no previous length");
      value = all[i - 1] ?? 0;
      repeat = 3 + bits.read(2);
    } else if (sym === 17) repeat = 3 + bits.read(3);
    else repeat = 11 + bits.read(7);
    if (i + repeat > nlen + ndist) throw new RangeError("too many lengths");
    all.fill(value, i, i + repeat);
    i += repeat;
  }
  return { lit: huffman(all, nlen), dist: huffman(all.subarray(nlen), ndist) };
}

/**
 * Bytes of `pieces` (taken as one stream) that the zlib stream starting at their first
 * byte occupies, its Adler-32 trailer included; null when the data ends first or is not
 * a valid deflate stream (the inflater then reports it).
 */
export function zlibStreamLength(pieces: Iterable<Uint8Array>): number | null {
  const bits = new Bits(pieces);
  try {
    const cmf = bits.read(8);
    const flg = bits.read(8);
    if ((cmf & 15) !== 8 || ((cmf << 8) | flg) % 31 !== 0) return null;
    if (flg & 0x20) bits.skipBytes(4); // a preset dictionary's id
    for (let last = 0; !last; ) {
      last = bits.read(1);
      const type = bits.read(2);
      if (type === 0) {
        bits.align();
        const len = bits.read(16);
        bits.read(16); // its one's complement
        bits.skipBytes(len);
      } else if (type === 1) skipCodes(bits, FIXED.lit, FIXED.dist);
      else if (type === 2) {
        const t = dynamicTables(bits);
        skipCodes(bits, t.lit, t.dist);
      } else return null;
    }
    bits.align();
    bits.skipBytes(4);
    return bits.offset();
  } catch (err) {
    if (err instanceof RangeError) return null;
    throw err;
  }
}
