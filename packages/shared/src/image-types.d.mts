export type AcceptedImageType =
  | "image/jpeg"
  | "image/png"
  | "image/webp"
  | "image/heic"
  | "image/heif"
  | "image/avif"
  | "image/gif";
export declare const HEIC_BRANDS: readonly string[];
export declare const HEIF_BRANDS: readonly string[];
export declare const AVIF_BRANDS: readonly string[];
export declare const ACCEPTED_IMAGE_TYPES: readonly [
  "image/jpeg",
  "image/png",
  "image/webp",
  "image/heic",
  "image/heif",
  "image/avif",
  "image/gif",
];
export declare const PHOTO_EXTENSIONS: readonly string[];
export declare const IMAGE_ACCEPT_ATTRIBUTE: string;
export declare const GENERIC_TYPES: readonly ["", "application/octet-stream"];
export declare function namedLikePhoto(name: string): boolean;
export declare const SNIFF_BYTES: number;
export declare function sniffImageType(head: Uint8Array): AcceptedImageType | null;
