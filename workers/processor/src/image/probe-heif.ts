import { AVIF_BRANDS, HEIC_BRANDS, HEIF_BRANDS } from "@darkroom/shared";
import { parseHeif } from "../codecs/heif/container";
import { HeifError } from "../codecs/heif/errors";
import { av1cFormat } from "../codecs/heif/format";
import { heifGeometry } from "../codecs/heif/geometry";
import { ftypBrands } from "../codecs/heif/reader";
import type { HeifFile } from "../codecs/heif/types";
import { ImageError } from "./errors";
import { WorkMeter } from "./work";

/**
 * Which decoder a file with an ftyp box goes to, by its brands (the same rule as the
 * page's and the API's sniffImageType): AVIF for avif/avis, else HEIC for the HEVC brands
 * and for generic HEIF (mif1/msf1; its image item then says whether it is HEVC).
 */
export function heifKind(b: Uint8Array): "heic" | "avif" | null {
  const f = ftypBrands(b);
  if (!f) return null;
  if (f.brands.some((x) => AVIF_BRANDS.includes(x))) return "avif";
  if (f.brands.some((x) => HEIC_BRANDS.includes(x) || HEIF_BRANDS.includes(x))) return "heic";
  return null;
}

export type HeifProbe = {
  format: "heic" | "avif";
  /** The shown image (clean aperture applied), before irot/imir. */
  width: number;
  height: number;
  /** EXIF-style orientation from irot/imir. */
  orientation: number;
  /** The clean aperture in coded-image pixels (the whole image when there is no clap). */
  crop: { x: number; y: number; width: number; height: number };
  bitDepth: number;
  hasAlpha: boolean;
  heif: HeifFile;
};

/** Parses the container (no pixel data): format, shown size, transforms, alpha. */
export function probeHeif(
  b: Uint8Array,
  kind: "heic" | "avif",
  fileBytes = b.length,
  work = WorkMeter.forFile(fileBytes),
): HeifProbe {
  const name = kind === "heic" ? "HEIC" : "AVIF";
  let heif: HeifFile;
  try {
    heif = parseHeif(b, kind === "heic" ? "hvc1" : "av01", fileBytes, work);
  } catch (err) {
    if (err instanceof HeifError) {
      const code =
        err.code === "unsupported"
          ? "unsupported_format"
          : err.code === "too-large"
            ? "too_large"
            : "corrupt";
      throw new ImageError(code, err.message.replace(/^The HEIF/, `The ${name}`));
    }
    throw err;
  }
  const p = heif.primary;
  let geo: ReturnType<typeof heifGeometry>;
  try {
    geo = heifGeometry(p.width, p.height, p.transforms);
  } catch (err) {
    if (err instanceof HeifError)
      throw new ImageError("corrupt", err.message.replace(/^The HEIF/, `The ${name}`));
    throw err;
  }
  const tile = p.grid?.tiles[0] ?? p;
  return {
    format: kind,
    width: geo.crop.width,
    height: geo.crop.height,
    orientation: geo.orientation,
    crop: geo.crop,
    bitDepth: p.bitDepth ?? tile.hvcC?.bitDepth ?? av1cFormat(tile.av1C).depth,
    hasAlpha: heif.alpha !== null,
    heif,
  };
}
