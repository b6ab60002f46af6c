import type { Rgba } from "../../image/rgba";
import { RowResizer } from "../../image/row-resize";
import { createHevcDecoder, type HevcDecoder, HevcError } from "../hevc";
import { type ColourPlan, colourPlan } from "./colour";
import { HeifError } from "./errors";
import { heifGeometry } from "./geometry";
import { codedBytes } from "./items";
import type { HeifFile, HeifImageItem } from "./types";

/** Rows converted per call into WASM (one call per tile row would need a tile row of RGBA). */
const ROWS_PER_CALL = 16;

export type HeicDecoded = {
  /** The cropped image, downscaled to the size `fit` chose; not yet oriented. */
  value: Rgba;
  /** EXIF-style orientation from irot/imir, to apply to the downscaled image. */
  orientation: number;
  /** Peak of WASM memory + resizer, bytes. */
  peakBytes: number;
};

/**
 * Band slot of one image (colour 0, alpha 1): a single coded image adopted whole, or a
 * grid whose tile rows are decoded one at a time into a band, tile by tile, as the rows
 * are needed. Neither the whole YUV frame of a grid nor any full-size RGBA ever exists.
 */
class Source {
  private bandEnd = 0;
  private tileRow = -1;
  constructor(
    private readonly dec: HevcDecoder,
    private readonly slot: number,
    private readonly bytes: Uint8Array,
    private readonly item: HeifImageItem,
    private readonly onPicture: (p: { vui: { matrix: number; fullRange: boolean } }) => void,
  ) {}

  /** Makes sure the band holds image row `y`; returns the first row past the band. */
  ensure(y: number): number {
    if (y < this.bandEnd) return this.bandEnd;
    const { item } = this;
    if (!item.grid) {
      this.decodeOne(item);
      this.dec.bandAdopt(this.slot);
      this.bandEnd = item.height;
      return this.bandEnd;
    }
    const { rows, columns, tiles } = item.grid;
    const t0 = tiles[0];
    if (!t0?.hvcC) throw new HeifError("corrupt", "The HEIC grid tile has no hvcC");
    const r = Math.floor(y / t0.height);
    if (r <= this.tileRow || r >= rows) throw new Error(`grid rows out of order (${r})`);
    this.tileRow = r;
    const y0 = r * t0.height;
    const h = Math.min(t0.height, item.height - y0);
    this.dec.bandNew(this.slot, item.width, h, y0, t0.hvcC.chromaFormat, t0.hvcC.bitDepth);
    for (let c = 0; c < columns; c++) {
      const tile = tiles[r * columns + c];
      if (!tile) throw new HeifError("corrupt", "The HEIC grid is missing a tile");
      this.decodeOne(tile);
      this.dec.bandPut(this.slot, c * t0.width, 0);
    }
    this.bandEnd = y0 + h;
    return this.bandEnd;
  }

  private decodeOne(img: HeifImageItem) {
    const cfg = img.hvcC;
    if (!cfg || !img.coded)
      throw new HeifError("corrupt", "The HEIC image has no decoder configuration (hvcC)");
    // Its SPS (hvcC's and in-band) was checked against ispe by the container parse
    // (container.ts, checkBitstreamSize), before any decoder ran.
    const p = this.dec.decode(
      cfg.nals,
      codedBytes(this.bytes, img.coded),
      cfg.nalLengthSize,
      img.width,
      img.height,
    );
    this.onPicture(p);
  }
}

/** One image drawn: its colour and alpha sources, where it sits, its colour rule. */
type Drawn = {
  colour: Source;
  alpha: Source | null;
  slot: number;
  x: number;
  y: number;
  width: number;
  height: number;
  plan: ColourPlan | null;
  done: boolean;
};

/**
 * Decodes a HEIC's primary image (and its alpha plane) straight into a RowResizer of the
 * size `fit` picks for the cropped image. An overlay (iovl) is composed as libheif does,
 * band by band: its canvas filled with the fill colour (8 bits: the high byte), each layer
 * drawn over it in order at its offset, clipped to the canvas, blended by its own alpha
 * (`(in * a + out * (255 - a)) / 255`); the canvas itself is opaque. Throws HeifError /
 * HevcError.
 */
export function decodeHeicFit(
  bytes: Uint8Array,
  file: HeifFile,
  module: WebAssembly.Module,
  fit: (w: number, h: number) => { width: number; height: number },
  maxMemoryBytes: number,
): HeicDecoded {
  const { primary } = file;
  const geo = heifGeometry(primary.width, primary.height, primary.transforms);
  const { crop } = geo;
  const out = fit(crop.width, crop.height);
  const resizer = new RowResizer(crop.width, crop.height, out.width, out.height);
  const dec = createHevcDecoder(module, maxMemoryBytes);
  const layers = primary.overlay
    ? primary.overlay.layers
    : [{ image: primary, alpha: file.alpha, x: 0, y: 0 }];
  let colourOf: Drawn | null = null;
  const drawn: Drawn[] = layers.map((l, i) => {
    const d: Drawn = {
      slot: 2 * i,
      x: l.x,
      y: l.y,
      width: l.image.width,
      height: l.image.height,
      plan: null,
      done: false,
      colour: new Source(dec, 2 * i, bytes, l.image, (p) => {
        if (d.plan) return;
        d.plan = colourPlan(l.image.nclx ?? primary.nclx, l.image.icc ?? primary.icc, p.vui);
        colourOf = null;
      }),
      alpha: l.alpha ? new Source(dec, 2 * i + 1, bytes, l.alpha, () => {}) : null,
    };
    return d;
  });
  /** Rows [y, y + n) of a drawn image's columns [x0, x0 + w), in its own coordinates. */
  const rowsOf = (d: Drawn, y: number, n: number, x0: number, w: number) => {
    if (colourOf !== d && d.plan) {
      dec.setColour(d.plan.matrix, d.plan.fullRange, d.plan.gamut);
      colourOf = d;
    }
    return dec.rows(d.slot, d.alpha ? d.slot + 1 : null, y, n, x0, w);
  };
  let peak = 0;
  const note = () => {
    const now = dec.memoryBytes() + resizer.bytes;
    if (now > peak) peak = now;
  };
  const stride = crop.width * 4;
  const overlay = primary.overlay;
  const canvas = overlay ? new Uint8Array(ROWS_PER_CALL * stride) : null;
  const fill = overlay ? overlay.fill.map((v) => v >> 8) : [];
  const yEnd = crop.y + crop.height;
  for (let y = crop.y; y < yEnd; ) {
    // Rows [y, end): every image either covers them all or none, and its bands hold them.
    let end = Math.min(yEnd, y + ROWS_PER_CALL);
    for (const d of drawn) {
      if (d.done) continue;
      if (y >= d.y + d.height) {
        // Passed: its planes go back to the allocator for the layers below.
        dec.bandFree(d.slot);
        dec.bandFree(d.slot + 1);
        d.done = true;
        continue;
      }
      if (y < d.y) {
        end = Math.min(end, d.y);
        continue;
      }
      end = Math.min(end, d.y + d.height, d.y + d.colour.ensure(y - d.y));
      if (d.alpha) end = Math.min(end, d.y + d.alpha.ensure(y - d.y));
    }
    const n = end - y;
    const only = drawn[0];
    if (!canvas || !only) {
      if (!only) throw new HeifError("corrupt", "The HEIF image has nothing to draw");
      const rows = rowsOf(only, y, n, crop.x, crop.width);
      for (let i = 0; i < n; i++) resizer.push(rows.subarray(i * stride, (i + 1) * stride));
    } else {
      paint(canvas, n * stride, fill);
      for (const d of drawn) {
        if (d.done || y < d.y) continue;
        const x0 = Math.max(crop.x, d.x);
        const x1 = Math.min(crop.x + crop.width, d.x + d.width);
        if (x1 <= x0) continue;
        const rows = rowsOf(d, y - d.y, n, x0 - d.x, x1 - x0);
        blend(canvas, stride, (x0 - crop.x) * 4, rows, (x1 - x0) * 4, n, d.alpha !== null);
      }
      for (let i = 0; i < n; i++) resizer.push(canvas.subarray(i * stride, (i + 1) * stride));
    }
    note();
    y = end;
  }
  return { value: resizer.finish(), orientation: geo.orientation, peakBytes: peak };
}

/** The canvas's first `bytes` bytes, opaque, in the fill colour. */
function paint(canvas: Uint8Array, bytes: number, [r = 0, g = 0, b = 0]: number[]) {
  for (let i = 0; i < bytes; i += 4) {
    canvas[i] = r;
    canvas[i + 1] = g;
    canvas[i + 2] = b;
    canvas[i + 3] = 255;
  }
}

/** Draws `n` rows of RGBA (`width` bytes each) onto the canvas at byte column `at`. */
function blend(
  canvas: Uint8Array,
  stride: number,
  at: number,
  rows: Uint8Array,
  width: number,
  n: number,
  withAlpha: boolean,
) {
  for (let r = 0; r < n; r++) {
    const o = r * stride + at;
    const s = r * width;
    for (let i = 0; i < width; i += 4) {
      const a = withAlpha ? (rows[s + i + 3] ?? 255) : 255;
      for (let c = 0; c < 3; c++) {
        const v = rows[s + i + c] ?? 0;
        canvas[o + i + c] =
          a === 255 ? v : Math.floor((v * a + (canvas[o + i + c] ?? 0) * (255 - a)) / 255);
      }
    }
  }
}

export { HeifError, HevcError };
