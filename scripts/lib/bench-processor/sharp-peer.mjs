// The peer the pipeline is measured against: sharp (libvips, one thread) in this process.
import sharp from "sharp";
import { EFFORT, PREVIEW, THUMB } from "./common.mjs";

/** One decode (shrink-on-load, EXIF-upright) to the preview, then both variants from it. */
export async function sharpVariants(input) {
  const { data, info } = await sharp(input)
    .rotate()
    .resize(PREVIEW.edge, PREVIEW.edge, { fit: "inside", withoutEnlargement: true })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const raw = { raw: { width: info.width, height: info.height, channels: info.channels } };
  const preview = await sharp(data, raw)
    .webp({ quality: PREVIEW.quality, effort: EFFORT })
    .toBuffer({ resolveWithObject: true });
  const thumb = await sharp(data, raw)
    .resize(THUMB.edge, THUMB.edge, { fit: "inside", withoutEnlargement: true })
    .webp({ quality: THUMB.quality, effort: EFFORT })
    .toBuffer({ resolveWithObject: true });
  return {
    preview: `${preview.info.width}x${preview.info.height}`,
    previewBytes: preview.data.length,
    thumb: `${thumb.info.width}x${thumb.info.height}`,
  };
}
