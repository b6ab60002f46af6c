import type { Rgba } from "../../image/rgba";
import { RowResizer } from "../../image/row-resize";
import { type Av1Decoder, Av1Error, type Av1Format, createAv1Decoder } from "../av1";
import { type ColourPlan, colourPlan } from "./colour";
import { type BandRows, composeInto, type DrawnImage, layerSlots, ROWS_PER_CALL } from "./compose";
import { HeifError } from "./errors";
import { av1cFormat, formatName, sameFormat } from "./format";
import { heifGeometry } from "./geometry";
import { codedBytes } from "./items";
import type { HeifFile, HeifImageItem, Overlay } from "./types";

export type AvifDecoded = {
  /** The cropped image, downscaled to the size `fit` chose; not yet oriented. */
  value: Rgba;
  /** EXIF-style orientation from irot/imir, to apply to the downscaled image. */
  orientation: number;
  /** Peak of WASM memory + resizer, bytes. */
  peakBytes: number;
  /** The colour image went through dav1d's row window (never a whole frame in memory). */
  rowWindow: boolean;
};

/** The coded images (av01 items) an image is made of: itself, or its grid's tiles. */
function codedImages(item: HeifImageItem): HeifImageItem[] {
  return item.grid ? item.grid.tiles : [item];
}

/** Every coded image drawn for a file: the primary's and its alpha's, or each overlay layer's. */
function drawnCodedImages({ primary, alpha }: HeifFile): HeifImageItem[] {
  const images = primary.overlay
    ? primary.overlay.layers.flatMap((l) => (l.alpha ? [l.image, l.alpha] : [l.image]))
    : [primary, ...(alpha ? [alpha] : [])];
  return images.flatMap(codedImages);
}

/**
 * Reads every coded image's AV1 sequence header (primary and alpha, every grid tile)
 * before any picture is decoded, and refuses a file whose bitstream and container
 * disagree on the size: the memory estimate and the decoder's ceiling come from the
 * container (`ispe`), so a bitstream larger than it said must not reach dav1d.
 */
function checkSequenceHeaders(
  dec: Av1Decoder,
  bytes: Uint8Array,
  items: HeifImageItem[],
): Map<number, Av1Format> {
  const seen = new Map<number, Av1Format>();
  for (const img of items) {
    if (!img.coded || seen.has(img.id)) continue;
    let seq: Av1Format;
    try {
      seq = dec.sequence(codedBytes(bytes, img.coded));
    } catch (err) {
      if (err instanceof Av1Error && err.code === "corrupt")
        throw new HeifError("corrupt", `The AVIF image's AV1 sequence header is unreadable`);
      throw err;
    }
    if (seq.width !== img.width || seq.height !== img.height) {
      throw new HeifError(
        "corrupt",
        `The AVIF image's AV1 bitstream is ${seq.width}x${seq.height} but the file says ${img.width}x${img.height}`,
      );
    }
    // The estimate sized the planes from av1C: the bitstream must not be deeper or denser.
    const a = av1cFormat(img.av1C);
    const said = { chroma: a.layout, depth: a.depth, depthChroma: a.depth };
    const coded = { chroma: seq.layout, depth: seq.depth, depthChroma: seq.depth };
    if (!sameFormat(coded, said)) {
      throw new HeifError(
        "corrupt",
        `The AVIF image's AV1 bitstream is ${formatName(coded)} but its av1C says ${formatName(said)}`,
      );
    }
    seen.set(img.id, seq);
  }
  return seen;
}

/**
 * Band slot of one image (colour 0, alpha 1): a single coded image adopted whole, or a
 * grid whose tile rows are decoded one at a time into a band, tile by tile, as the rows
 * are needed. Neither the whole YUV frame of a grid nor any full-size RGBA ever exists.
 * The same scheme as HEIC's (./heic.ts), over av1.wasm.
 */
class Source {
  private bandEnd = 0;
  private tileRow = -1;
  constructor(
    private readonly dec: Av1Decoder,
    private readonly slot: number,
    private readonly bytes: Uint8Array,
    private readonly item: HeifImageItem,
    private readonly onPicture: (f: Av1Format) => void,
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
    if (!t0) throw new HeifError("corrupt", "The AVIF grid has no tiles");
    const r = Math.floor(y / t0.height);
    if (r <= this.tileRow || r >= rows) throw new Error(`grid rows out of order (${r})`);
    this.tileRow = r;
    const y0 = r * t0.height;
    const h = Math.min(t0.height, item.height - y0);
    for (let c = 0; c < columns; c++) {
      const tile = tiles[r * columns + c];
      if (!tile) throw new HeifError("corrupt", "The AVIF grid is missing a tile");
      const f = this.decodeOne(tile);
      // The band takes the format of the row's first tile; the others must match it.
      if (c === 0) this.dec.bandNew(this.slot, item.width, h, y0, f);
      this.dec.bandPut(this.slot, c * t0.width, 0);
    }
    this.bandEnd = y0 + h;
    return this.bandEnd;
  }

  private decodeOne(img: HeifImageItem): Av1Format {
    if (!img.coded) throw new HeifError("corrupt", "The AVIF image has no data");
    const f = this.dec.decode(codedBytes(this.bytes, img.coded), img.width, img.height);
    this.onPicture(f);
    return f;
  }
}

/**
 * Decodes an AVIF's primary image (and its alpha plane) straight into a RowResizer of the
 * size `fit` picks for the cropped image; an overlay (iovl) is composed as HEIC's is
 * (./compose.ts). Throws HeifError / Av1Error. `opts.planar` (default true): an opaque
 * image without a gamut step is resized as Y, Cb, Cr before its colour conversion
 * (`Av1Decoder.resizeInto`); false gives RowResizer's RGBA arithmetic bit for bit.
 */
export function decodeAvifFit(
  bytes: Uint8Array,
  file: HeifFile,
  module: WebAssembly.Module,
  fit: (w: number, h: number) => { width: number; height: number },
  maxMemoryBytes: number,
  opts: { planar?: boolean } = {},
): AvifDecoded {
  const { primary, alpha } = file;
  const geo = heifGeometry(primary.width, primary.height, primary.transforms);
  const { crop } = geo;
  const dec = createAv1Decoder(module, maxMemoryBytes);
  const formats = checkSequenceHeaders(dec, bytes, drawnCodedImages(file));
  const out = fit(crop.width, crop.height);
  const resizer = new RowResizer(crop.width, crop.height, out.width, out.height);
  if (primary.overlay) {
    const peakBytes = composeOverlay(dec, bytes, file, primary.overlay, crop, resizer);
    return { value: resizer.finish(), orientation: geo.orientation, peakBytes, rowWindow: false };
  }
  let colourSet = false;
  const onPicture = (f: Av1Format) => {
    if (colourSet) return;
    // colr wins; without one the sequence header's CICP (matrix, range, and primaries for
    // the gamut: an AVIF may carry its colour description only there).
    const nclx = primary.nclx ?? (primary.icc ? null : f.cicp);
    const plan = colourPlan(nclx, primary.icc, {
      matrix: f.cicp.matrix,
      fullRange: f.cicp.fullRange,
    });
    dec.setColour(plan.matrix, plan.fullRange, plan.gamut);
    colourSet = true;
  };
  const alphaSrc = alpha ? new Source(dec, 1, bytes, alpha, () => {}) : null;
  let peak = 0;
  const note = () => {
    const now = dec.memoryBytes() + resizer.bytes;
    if (now > peak) peak = now;
  };
  const stride = crop.width * 4;
  // The rows are area-averaged inside the module (resize.c) unless they are copied
  // through at full size: a 12 MP photo's RGBA rows then never cross into JS.
  const inModule = dec.resizeInto(resizer, opts.planar ?? true);
  const finish = () => {
    if (inModule) {
      resizer.countPushed(dec.resizedRows());
      dec.resizeDone();
    }
    return resizer.finish();
  };
  const seq = formats.get(primary.id);
  if (!primary.grid && primary.coded && seq && !alpha?.grid) {
    // One coded image: its rows straight from dav1d's window into the resizer (the alpha
    // plane, a monochrome image, decoded whole first).
    alphaSrc?.ensure(0);
    onPicture(seq);
    const { windowed } = dec.decodeRows(
      codedBytes(bytes, primary.coded),
      primary.width,
      primary.height,
      { x0: crop.x, w: crop.width, y0: crop.y, y1: crop.y + crop.height },
      (_y, n, rgba) => {
        for (let i = 0; i < n; i++) resizer.push(rgba.subarray(i * stride, (i + 1) * stride));
        note();
      },
    );
    note();
    const value = finish();
    return { value, orientation: geo.orientation, peakBytes: peak, rowWindow: windowed };
  }
  const colour = new Source(dec, 0, bytes, primary, onPicture);
  for (let y = crop.y; y < crop.y + crop.height; ) {
    let end = Math.min(colour.ensure(y), crop.y + crop.height, y + ROWS_PER_CALL);
    if (alphaSrc) end = Math.min(end, alphaSrc.ensure(y));
    const n = end - y;
    if (inModule) {
      dec.rowsResized(y, n, crop.x, crop.width);
    } else {
      const rows = dec.rows(y, n, crop.x, crop.width);
      for (let i = 0; i < n; i++) resizer.push(rows.subarray(i * stride, (i + 1) * stride));
    }
    note();
    y = end;
  }
  return {
    value: finish(),
    orientation: geo.orientation,
    peakBytes: peak,
    rowWindow: false,
  };
}

/**
 * An overlay (iovl) of AV1 images, drawn by the composition HEIC uses (./compose.ts): each
 * layer in its own band slots (`layerSlots`), its colour rule from its own
 * first picture. Returns the peak of WASM memory + resizer.
 */
function composeOverlay(
  dec: Av1Decoder,
  bytes: Uint8Array,
  { primary }: HeifFile,
  overlay: Overlay,
  crop: { x: number; y: number; width: number; height: number },
  resizer: RowResizer,
): number {
  const drawn: DrawnImage[] = overlay.layers.map((l, i) => {
    let plan: ColourPlan | null = null;
    const icc = l.image.icc ?? primary.icc;
    const slots = layerSlots(i);
    return {
      slots,
      x: l.x,
      y: l.y,
      width: l.image.width,
      height: l.image.height,
      plan: () => plan,
      colour: new Source(dec, slots.colour, bytes, l.image, (f) => {
        // As for one image: colr wins, else the sequence header's CICP.
        const nclx = l.image.nclx ?? primary.nclx ?? (icc ? null : f.cicp);
        plan ??= colourPlan(nclx, icc, { matrix: f.cicp.matrix, fullRange: f.cicp.fullRange });
      }),
      alpha: l.alpha ? new Source(dec, slots.alpha, bytes, l.alpha, () => {}) : null,
    };
  });
  let peak = 0;
  const rows: BandRows = {
    bandFree: (slot) => dec.bandFree(slot),
    setColour: (matrix, fullRange, gamut) => dec.setColour(matrix, fullRange, gamut),
    rows: (slot, alphaSlot, y, n, x0, w) => dec.rowsOf(slot, alphaSlot, y, n, x0, w),
  };
  composeInto(rows, drawn, overlay, crop, resizer, () => {
    peak = Math.max(peak, dec.memoryBytes() + resizer.bytes);
  });
  return peak;
}

export { Av1Error, HeifError };
