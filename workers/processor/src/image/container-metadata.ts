import { pngExif } from "../codecs/png-stream";
import { webpExif } from "../codecs/webp";
import { type PhotoMetadata, readHeifMetadata, readMetadata, readTiffMetadata } from "./metadata";
import type { Probe } from "./probe";

/**
 * Orientation, capture time and camera from wherever the container keeps EXIF: JPEG's
 * APP1, PNG's eXIf, WebP's EXIF chunk; HEIF's transforms (irot/imir) for orientation. GIF
 * carries none.
 */
export async function metadataOf(bytes: Uint8Array, p: Probe): Promise<PhotoMetadata> {
  if (p.format === "jpeg") return readMetadata(bytes);
  if (p.heif) return readHeifMetadata(p.heif);
  if (p.format === "png") return readTiffMetadata(pngExif(bytes));
  if (p.format === "webp") return readTiffMetadata(webpExif(bytes));
  return readTiffMetadata(null);
}
