import type { Rgba } from "../../image/rgba";
import { RowResizer } from "../../image/row-resize";
import { createHevcDecoder, type HevcDecoder, HevcError } from "../hevc";
import { type ColourPlan, colourPlan } from "./colour";
import { composeInto, type DrawnImage, layerSlots } from "./compose";
import { HeifError } from "./errors";
import { heifGeometry } from "./geometry";
import { codedBytes } from "./items";
import type { HeifFile, HeifImageItem } from "./types";

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

/**
 * Decodes a HEIC's primary image (and its alpha plane) straight into a RowResizer of the
 * size `fit` picks for the cropped image; an overlay (iovl) is composed as libheif does
 * (./compose.ts, shared with AVIF). Throws HeifError / HevcError.
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
  const drawn: DrawnImage[] = layers.map((l, i) => {
    let plan: ColourPlan | null = null;
    const slots = layerSlots(i);
    return {
      slots,
      x: l.x,
      y: l.y,
      width: l.image.width,
      height: l.image.height,
      plan: () => plan,
      colour: new Source(dec, slots.colour, bytes, l.image, (p) => {
        plan ??= colourPlan(l.image.nclx ?? primary.nclx, l.image.icc ?? primary.icc, p.vui);
      }),
      alpha: l.alpha ? new Source(dec, slots.alpha, bytes, l.alpha, () => {}) : null,
    };
  });
  let peak = 0;
  const note = () => {
    const now = dec.memoryBytes() + resizer.bytes;
    if (now > peak) peak = now;
  };
  composeInto(dec, drawn, primary.overlay, crop, resizer, note);
  return { value: resizer.finish(), orientation: geo.orientation, peakBytes: peak };
}

export { HeifError, HevcError };
