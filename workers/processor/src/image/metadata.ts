import exifr from "exifr/dist/lite.esm.mjs";
import { z } from "zod";

export type PhotoMetadata = {
  /** EXIF orientation 1..8 (1 when absent). */
  orientation: number;
  takenAt: number | null;
  make: string | null;
  model: string | null;
};

const text = z
  .string()
  .transform((s) => s.replace(/\0/g, "").trim().slice(0, 100))
  .nullish()
  .catch(null);
const date = z
  .date()
  .refine((d) => !Number.isNaN(d.getTime()))
  .nullish()
  .catch(null);

// exifr's output is data from the file: parse it like any other untrusted input.
const exifSchema = z
  .object({
    Orientation: z.number().int().min(1).max(8).nullish().catch(null),
    Make: text,
    Model: text,
    DateTimeOriginal: date,
    CreateDate: date,
  })
  .nullish()
  .catch(null);

/**
 * Orientation, capture time and camera from EXIF (JPEG APP1; exifr's lite build reads
 * only the IFDs asked for). Metadata is best effort: a damaged EXIF block never fails a
 * photo whose pixels decode. GPS and everything else are never read, and the variants
 * are re-encoded from pixels, so none of it reaches them.
 */
export async function readMetadata(bytes: Uint8Array): Promise<PhotoMetadata> {
  let raw: unknown = null;
  try {
    raw = await exifr.parse(bytes, {
      tiff: true,
      ifd0: { pick: ["Orientation", "Make", "Model"] },
      exif: { pick: ["DateTimeOriginal", "CreateDate"] },
      gps: false,
      interop: false,
      ifd1: false,
      translateValues: false,
      reviveValues: true,
      silentErrors: true,
    });
  } catch {
    raw = null;
  }
  const exif = exifSchema.parse(raw);
  const taken = exif?.DateTimeOriginal ?? exif?.CreateDate ?? null;
  return {
    orientation: exif?.Orientation ?? 1,
    takenAt: taken ? taken.getTime() : null,
    make: exif?.Make || null,
    model: exif?.Model || null,
  };
}
