import exifr from "exifr/dist/lite.esm.mjs";
import { z } from "zod";
import type { HeifProbe } from "./probe-heif";

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
  return fromExif(await parseExif(bytes));
}

/**
 * HEIC/AVIF: capture time and camera from the EXIF item (a TIFF block exifr reads as it
 * is); the orientation is the container's irot/imir, never the EXIF tag, which HEIF
 * readers ignore (iPhones write both, agreeing: applying both would turn photos twice).
 */
export async function readHeifMetadata(h: HeifProbe): Promise<PhotoMetadata> {
  return { ...(await readTiffMetadata(h.heif.exif)), orientation: h.orientation };
}

/**
 * The same from a bare TIFF block (PNG's eXIf chunk, WebP's EXIF chunk, HEIF's Exif
 * item), its Orientation tag included: libvips applies it for PNG and WebP.
 */
export async function readTiffMetadata(tiff: Uint8Array | null): Promise<PhotoMetadata> {
  return fromExif(tiff ? await parseExif(asJpegApp1(tiff)) : null);
}

/**
 * A TIFF block as the APP1 segment of an otherwise empty JPEG: exifr's lite build reads
 * EXIF from JPEG containers only. EXIF over one segment's 64 KB is left unread.
 */
function asJpegApp1(tiff: Uint8Array): Uint8Array {
  if (tiff.length > 65535 - 8) return new Uint8Array(0);
  const len = tiff.length + 8;
  const out = new Uint8Array(len + 6);
  out.set([0xff, 0xd8, 0xff, 0xe1, len >> 8, len & 255, 0x45, 0x78, 0x69, 0x66, 0, 0]);
  out.set(tiff, 12);
  out.set([0xff, 0xd9], 12 + tiff.length);
  return out;
}

async function parseExif(bytes: Uint8Array): Promise<unknown> {
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
  return raw;
}

function fromExif(raw: unknown): PhotoMetadata {
  const exif = exifSchema.parse(raw);
  const taken = exif?.DateTimeOriginal ?? exif?.CreateDate ?? null;
  return {
    orientation: exif?.Orientation ?? 1,
    takenAt: taken ? taken.getTime() : null,
    make: exif?.Make || null,
    model: exif?.Model || null,
  };
}
