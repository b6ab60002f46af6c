import { assertImagesInput } from "./images-input";
import type { PhotoMetadata } from "./metadata";
import { type Probe, probe } from "./probe";
import { originalOf, type Processed, type Variant } from "./processed";
import { PREVIEW_EDGE, PREVIEW_QUALITY, THUMB_EDGE, THUMB_QUALITY } from "./variants";

/** Transforms the Images binding offers (declared structurally: only what is used). */
export interface ImagesLike {
  input(stream: ReadableStream<Uint8Array>): {
    transform(t: { width: number; height: number; fit: "scale-down" }): {
      output(o: { format: "image/webp"; quality: number }): Promise<{ response(): Response }>;
    };
  };
}

/** An image too big to decode here, transformed by the Images binding into its variants. */
export async function viaImages(
  bytes: Uint8Array,
  p: Probe,
  metadata: PhotoMetadata,
  estimatedBytes: number,
  images: ImagesLike,
): Promise<Processed> {
  assertImagesInput(p, bytes.byteLength);
  const make = async (edge: number, quality: number): Promise<Variant> => {
    const stream = new Blob([bytes]).stream();
    const out = await images
      .input(stream)
      .transform({ width: edge, height: edge, fit: "scale-down" })
      .output({ format: "image/webp", quality });
    const webp = new Uint8Array(await out.response().arrayBuffer());
    const dims = probe(webp);
    return { bytes: webp, width: dims.width, height: dims.height };
  };
  const preview = await make(PREVIEW_EDGE, PREVIEW_QUALITY);
  const thumb = await make(THUMB_EDGE, THUMB_QUALITY);
  return {
    ...originalOf(p, metadata),
    preview,
    thumb,
    peakBytes: bytes.byteLength + preview.bytes.byteLength + thumb.bytes.byteLength,
    estimatedBytes,
    path: "images",
    warnings: [],
  };
}
