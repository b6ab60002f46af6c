import type { PhotoMetadata } from "./metadata";
import { swapsAxes } from "./orient";
import type { Probe } from "./probe";

/** Where an image is processed: here in WASM, or by the Images binding when too big. */
export type ProcessPath = "wasm" | "images";

export type Variant = { bytes: Uint8Array; width: number; height: number };

export type Processed = {
  format: Probe["format"];
  /** More than one frame (GIF): the variants show the first. */
  animated: boolean;
  /** Upright dimensions of the original (after EXIF orientation). */
  width: number;
  height: number;
  metadata: PhotoMetadata;
  preview: Variant;
  thumb: Variant;
  /** Measured peak bytes: WASM memories alive + JS pixel buffers alive, at each step. */
  peakBytes: number;
  /** The estimate the budget check used. */
  estimatedBytes: number;
  path: ProcessPath;
  /** Damage the decoder forgave as libvips does (a PNG cut off after its rows…), to log. */
  warnings: string[];
};

/** What a Processed says of the original itself, whichever path made the variants. */
export function originalOf(
  p: Probe,
  metadata: PhotoMetadata,
): Pick<Processed, "format" | "animated" | "width" | "height" | "metadata"> {
  const swap = swapsAxes(metadata.orientation);
  return {
    format: p.format,
    animated: p.animated === true,
    width: swap ? p.height : p.width,
    height: swap ? p.width : p.height,
    metadata,
  };
}
