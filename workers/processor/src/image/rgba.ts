/** An 8-bit RGBA image owned by JS (the pipeline's only pixel type). */
export type Rgba = { width: number; height: number; data: Uint8ClampedArray };
