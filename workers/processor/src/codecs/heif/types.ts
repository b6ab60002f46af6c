/** What the HEIF container parser gives the decoders: the primary image, its alpha and EXIF. */

export type Nclx = { primaries: number; transfer: number; matrix: number; fullRange: boolean };

/** A transformative property, in the order the file lists them (the order they apply). */
export type Transform =
  | { kind: "irot"; quarterTurnsCcw: number }
  | { kind: "imir"; axis: 0 | 1 }
  | { kind: "clap"; width: number; height: number; horizOff: number; vertOff: number };

export type CodedImage = {
  id: number;
  /** The coded data: HEVC/AV1 NAL units / OBUs, extents concatenated lazily. */
  extents: { offset: number; length: number }[];
  length: number;
};

export type HeifImageItem = {
  id: number;
  type: "hvc1" | "av01" | "grid" | "iovl";
  width: number;
  height: number;
  /** hvcC: parameter sets, 4-byte length-prefixed, and the NAL length size of the data. */
  hvcC: {
    nals: Uint8Array;
    nalLengthSize: number;
    chromaFormat: number;
    bitDepth: number;
    bitDepthChroma: number;
  } | null;
  /** av1C present (AVIF): the bytes of the property. */
  av1C: Uint8Array | null;
  nclx: Nclx | null;
  icc: Uint8Array | null;
  transforms: Transform[];
  /** Bits per channel from pixi, when present. */
  bitDepth: number | null;
  /** Coded image (hvc1 / av01) or, for a grid, the layout and its tiles in raster order. */
  coded: CodedImage | null;
  grid: { rows: number; columns: number; tiles: HeifImageItem[] } | null;
  /** An overlay (iovl): its canvas and the images drawn on it. */
  overlay: Overlay | null;
};

/**
 * An overlay derived image (ISO/IEC 23008-12 6.6.2.3): a canvas of `width` x `height`
 * filled with one colour, and its layers (dimg, in order: later over earlier) each at
 * its offset, clipped to the canvas, blended by its own alpha plane when it has one.
 */
export type Overlay = {
  /** The canvas colour, 16 bits per channel (RGBA) as the file writes it. */
  fill: [number, number, number, number];
  layers: OverlayLayer[];
};

export type OverlayLayer = {
  /** A coded image or a grid of them. */
  image: HeifImageItem;
  alpha: HeifImageItem | null;
  x: number;
  y: number;
};

export type HeifFile = {
  majorBrand: string;
  brands: string[];
  primary: HeifImageItem;
  alpha: HeifImageItem | null;
  /** The TIFF block of the primary image's EXIF item (starts at "II*\0" / "MM\0*"). */
  exif: Uint8Array | null;
};
