import { ftypBrands, HeifError, type HeifFile, parseHeif } from "../codecs/heif/boxes";
import { heifGeometry } from "../codecs/heif/geometry";
import { ImageError } from "./errors";

/** ftyp brands that mean a HEVC-coded HEIF still (HEIC) or an AV1-coded one (AVIF). */
const HEIC_BRANDS = ["heic", "heix", "hevc", "heim", "heis", "mif1", "msf1"];
const AVIF_BRANDS = ["avif", "avis"];

/** Which of the two a file with an ftyp box is, by its brands; null when neither. */
export function heifKind(b: Uint8Array): "heic" | "avif" | null {
  const f = ftypBrands(b);
  if (!f) return null;
  // The major brand decides; mif1/msf1 majors say only "HEIF", so look at the others.
  if (AVIF_BRANDS.includes(f.major)) return "avif";
  if (HEIC_BRANDS.includes(f.major) && f.major !== "mif1" && f.major !== "msf1") return "heic";
  if (f.brands.some((x) => AVIF_BRANDS.includes(x))) return "avif";
  if (f.brands.some((x) => HEIC_BRANDS.includes(x))) return "heic";
  return null;
}

export type HeifProbe = {
  format: "heic" | "avif";
  /** The shown image (clean aperture applied), before irot/imir. */
  width: number;
  height: number;
  /** EXIF-style orientation from irot/imir. */
  orientation: number;
  bitDepth: number;
  hasAlpha: boolean;
  heif: HeifFile;
};

/** Parses the container (no pixel data): format, shown size, transforms, alpha. */
export function probeHeif(b: Uint8Array, kind: "heic" | "avif"): HeifProbe {
  const name = kind === "heic" ? "HEIC" : "AVIF";
  let heif: HeifFile;
  try {
    heif = parseHeif(b, kind === "heic" ? "hvc1" : "av01");
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
    bitDepth: p.bitDepth ?? tile.hvcC?.bitDepth ?? 8,
    hasAlpha: heif.alpha !== null,
    heif,
  };
}
