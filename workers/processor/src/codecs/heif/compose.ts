/**
 * The drawing of a HEIF primary image into the row resizer, shared by HEIC (hevc.wasm) and
 * AVIF (av1.wasm): one coded image or grid (with its alpha plane), or an overlay (iovl)
 * of several, composed as libheif does. Each codec brings its band sources (which decode
 * a coded image or a grid's tile row into a band slot as rows are needed) and its colour
 * plan per drawn image; the rows, the canvas and the blending are the same for both.
 */
import type { RowResizer } from "../../image/row-resize";
import type { ColourPlan } from "./colour";
import { HeifError } from "./errors";
import type { Overlay } from "./types";

/** Rows converted per call into WASM (one call per tile row would need a tile row of RGBA). */
export const ROWS_PER_CALL = 16;

/** An image in a band slot, decoded (a tile row at a time for a grid) as rows are needed. */
export interface BandSource {
  /** Makes sure the band holds image row `y`; returns the first row past the band. */
  ensure(y: number): number;
}

/** What composition needs of a decoder module: hevc.wasm's and av1.wasm's band calls. */
export interface BandRows {
  bandFree(slot: number): void;
  setColour(matrix: number, fullRange: boolean, gamut: Float32Array | null): void;
  /** Rows [y, y + n), columns [x0, x0 + w) of band `slot` as RGBA8, alpha from `alphaSlot`. */
  rows(
    slot: number,
    alphaSlot: number | null,
    y: number,
    n: number,
    x0: number,
    w: number,
  ): Uint8Array;
}

/**
 * The band slots of layer i of an image (the one image without an overlay is layer 0):
 * colour 2i, alpha 2i + 1. One rule for both decoders and `composeInto`, which frees both.
 */
export function layerSlots(i: number): { colour: number; alpha: number } {
  return { colour: 2 * i, alpha: 2 * i + 1 };
}

/**
 * One image drawn: its colour and alpha sources (in the band slots `layerSlots` gives its
 * layer), where it sits on the canvas, and its colour rule once its first picture has
 * said it.
 */
export type DrawnImage = {
  colour: BandSource;
  alpha: BandSource | null;
  slots: { colour: number; alpha: number };
  x: number;
  y: number;
  width: number;
  height: number;
  plan: () => ColourPlan | null;
};

/**
 * Pushes rows [crop.y, crop.y + crop.height), columns [crop.x, crop.x + crop.width) of the
 * primary image into `resizer`. Without an overlay, `drawn` is the one image, its rows
 * pushed as they are. With one, band by band: the canvas filled with the fill colour (8
 * bits: the high byte), each image drawn over it in order at its offset, clipped to the
 * canvas, blended by its own alpha (`(in * a + out * (255 - a)) / 255`); the canvas itself
 * is opaque. An image's bands are freed once the rows pass it. `note` after every call.
 */
export function composeInto(
  dec: BandRows,
  drawn: DrawnImage[],
  overlay: Overlay | null,
  crop: { x: number; y: number; width: number; height: number },
  resizer: RowResizer,
  note: () => void,
): void {
  let colourOf: DrawnImage | null = null;
  /** Rows [y, y + n) of a drawn image's columns [x0, x0 + w), in its own coordinates. */
  const rowsOf = (d: DrawnImage, y: number, n: number, x0: number, w: number) => {
    const plan = d.plan();
    if (colourOf !== d && plan) {
      dec.setColour(plan.matrix, plan.fullRange, plan.gamut);
      colourOf = d;
    }
    return dec.rows(d.slots.colour, d.alpha ? d.slots.alpha : null, y, n, x0, w);
  };
  const done = drawn.map(() => false);
  const stride = crop.width * 4;
  const canvas = overlay ? new Uint8Array(ROWS_PER_CALL * stride) : null;
  const fill = overlay ? overlay.fill.map((v) => v >> 8) : [];
  const yEnd = crop.y + crop.height;
  for (let y = crop.y; y < yEnd; ) {
    // Rows [y, end): every image either covers them all or none, and its bands hold them.
    let end = Math.min(yEnd, y + ROWS_PER_CALL);
    drawn.forEach((d, i) => {
      if (done[i]) return;
      if (y >= d.y + d.height) {
        // Passed: its planes go back to the allocator for the images below.
        dec.bandFree(d.slots.colour);
        dec.bandFree(d.slots.alpha);
        done[i] = true;
        return;
      }
      if (y < d.y) {
        end = Math.min(end, d.y);
        return;
      }
      end = Math.min(end, d.y + d.height, d.y + d.colour.ensure(y - d.y));
      if (d.alpha) end = Math.min(end, d.y + d.alpha.ensure(y - d.y));
    });
    const n = end - y;
    const only = drawn[0];
    if (!canvas || !only) {
      if (!only) throw new HeifError("corrupt", "The HEIF image has nothing to draw");
      const rows = rowsOf(only, y, n, crop.x, crop.width);
      for (let i = 0; i < n; i++) resizer.push(rows.subarray(i * stride, (i + 1) * stride));
    } else {
      paint(canvas, n * stride, fill);
      drawn.forEach((d, i) => {
        if (done[i] || y < d.y) return;
        const x0 = Math.max(crop.x, d.x);
        const x1 = Math.min(crop.x + crop.width, d.x + d.width);
        if (x1 <= x0) return;
        const rows = rowsOf(d, y - d.y, n, x0 - d.x, x1 - x0);
        blend(canvas, stride, (x0 - crop.x) * 4, rows, (x1 - x0) * 4, n, d.alpha !== null);
      });
      for (let i = 0; i < n; i++) resizer.push(canvas.subarray(i * stride, (i + 1) * stride));
    }
    note();
    y = end;
  }
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
