/** The HEIF container parser's one error type, its "read more of the file" signal and its caps. */

export type HeifErrorCode = "corrupt" | "unsupported" | "too-large";

export class HeifError extends Error {
  override readonly name = "HeifError";
  constructor(
    readonly code: HeifErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Only the start of the file was given and what is needed lies past it (a meta box after
 * the image data, or a grid descriptor stored in mdat): parse the whole file instead.
 */
export class HeifNeedsMore extends Error {
  override readonly name = "HeifNeedsMore";
}

/** Caps on what a file may declare; far beyond any camera's output. */
export const HEIF_LIMITS = {
  /** Items in iinf (an iPhone photo has ~50: 48 tiles, EXIF, a thumbnail, depth...). */
  maxItems: 4096,
  /** Tiles of one grid (a 48 MP iPhone photo at 512x512 tiles has 192). */
  maxTiles: 1024,
  /** Properties in ipco. */
  maxProperties: 4096,
  /**
   * Property associations of one item, across all ipma boxes (an iPhone photo's items
   * have 2-9: ispe, hvcC, colr, pixi, irot, ...).
   */
  maxAssociations: 128,
  /** Extents of one item. */
  maxExtents: 256,
  /**
   * Images of one overlay (iovl). Cameras write none; editors and the HEIF conformance
   * files a handful. Each may hold a decoded picture while the canvas rows pass it.
   */
  maxOverlayLayers: 16,
  /** Edge of one coded image (a tile or a single-image photo). */
  maxCodedEdge: 16384,
};
