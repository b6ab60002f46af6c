import { HeifError } from "./errors";
import type { Transform } from "./types";

/**
 * HEIF's transformative properties (clap, irot, imir, applied in the order listed) folded
 * into what the pipeline does anyway: a crop of the decoded image (rows and columns that
 * are never fed to the resizer) and one EXIF-style orientation applied to the preview.
 * HEIF readers apply these and ignore the EXIF Orientation tag (ISO/IEC 23008-12: the EXIF
 * copy is informative; iPhones write both, agreeing), so a HEIF's EXIF orientation is
 * never applied on top.
 */
export type Geometry = {
  /** The part of the coded image that is shown, in coded-image pixels. */
  crop: { x: number; y: number; width: number; height: number };
  /** EXIF orientation 1..8 that makes the cropped image upright. */
  orientation: number;
};

// Orientation n as the 2x2 integer matrix [a, b, c, d] taking source (x, y), centred, to
// displayed (a·x + b·y, c·x + d·y), y down: the same maps as image/orient.ts.
const MATRICES: readonly (readonly number[])[] = [
  [],
  [1, 0, 0, 1],
  [-1, 0, 0, 1],
  [-1, 0, 0, -1],
  [1, 0, 0, -1],
  [0, 1, 1, 0],
  [0, -1, 1, 0],
  [0, -1, -1, 0],
  [0, 1, -1, 0],
];

function compose(outer: number, inner: number): number {
  const [a = 0, b = 0, c = 0, d = 0] = MATRICES[outer] ?? [];
  const [e = 0, f = 0, g = 0, h = 0] = MATRICES[inner] ?? [];
  const m = [a * e + b * g, a * f + b * h, c * e + d * g, c * f + d * h];
  const n = MATRICES.findIndex((x) => x.length === 4 && x.every((v, i) => v === m[i]));
  if (n < 1) throw new Error("orientation composition left the dihedral group");
  return n;
}

/** irot's anticlockwise quarter turns as an orientation: 90° anticlockwise is EXIF 8. */
const IROT = [1, 8, 3, 6];

/** Source pixel (x, y) of a w x h image to its displayed position under orientation o. */
function forward(o: number, w: number, h: number, x: number, y: number): [number, number] {
  switch (o) {
    case 2:
      return [w - 1 - x, y];
    case 3:
      return [w - 1 - x, h - 1 - y];
    case 4:
      return [x, h - 1 - y];
    case 5:
      return [y, x];
    case 6:
      return [h - 1 - y, x];
    case 7:
      return [h - 1 - y, w - 1 - x];
    case 8:
      return [y, w - 1 - x];
    default:
      return [x, y];
  }
}

const INVERSE = [0, 1, 2, 3, 4, 5, 8, 7, 6];

export function heifGeometry(width: number, height: number, transforms: Transform[]): Geometry {
  let crop = { x: 0, y: 0, width, height };
  let orientation = 1;
  for (const t of transforms) {
    if (t.kind === "irot") orientation = compose(IROT[t.quarterTurnsCcw] ?? 1, orientation);
    else if (t.kind === "imir") {
      // libheif 1.15 (Debian's heif-convert): axis 1 flips left-right, axis 0 top-bottom.
      orientation = compose(t.axis === 1 ? 2 : 4, orientation);
    } else {
      const swap = orientation >= 5;
      const dw = swap ? crop.height : crop.width;
      const dh = swap ? crop.width : crop.height;
      const cw = Math.round(t.width);
      const ch = Math.round(t.height);
      const left = Math.round(t.horizOff + (dw - cw) / 2);
      const top = Math.round(t.vertOff + (dh - ch) / 2);
      if (cw < 1 || ch < 1 || left < 0 || top < 0 || left + cw > dw || top + ch > dh) {
        throw new HeifError("corrupt", "The HEIF clean aperture (clap) lies outside the image");
      }
      // The displayed rectangle's corners back in the current crop's source pixels.
      const inv = INVERSE[orientation] ?? 1;
      const [x0, y0] = forward(inv, dw, dh, left, top);
      const [x1, y1] = forward(inv, dw, dh, left + cw - 1, top + ch - 1);
      crop = {
        x: crop.x + Math.min(x0, x1),
        y: crop.y + Math.min(y0, y1),
        width: Math.abs(x1 - x0) + 1,
        height: Math.abs(y1 - y0) + 1,
      };
    }
  }
  return { crop, orientation };
}
