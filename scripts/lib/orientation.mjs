// EXIF orientation as pixel remaps, for the fixture makers (the same maps as
// workers/processor/src/image/orient.ts).
import sharp from "sharp";

/** Where orientation `o` moves pixel (x, y) of a w x h image. */
export function forward(o, w, h, x, y) {
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

/** The stored pixels (a raw sharp image) that orientation `o` turns into `upright`. */
export function unorient({ data, info }, o) {
  const inv = INVERSE[o];
  const { width: w, height: h, channels: c } = info;
  const swap = inv >= 5;
  const ow = swap ? h : w;
  const oh = swap ? w : h;
  const dst = Buffer.alloc(ow * oh * c);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const [dx, dy] = forward(inv, w, h, x, y);
      data.copy(dst, (dy * ow + dx) * c, (y * w + x) * c, (y * w + x + 1) * c);
    }
  return sharp(dst, { raw: { width: ow, height: oh, channels: c } });
}
