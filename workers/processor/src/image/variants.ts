// The variants every photo gets, shared by the pipeline and its memory estimate.
export const PREVIEW_EDGE = 1440;
export const THUMB_EDGE = 320;
export const PREVIEW_QUALITY = 80;
export const THUMB_QUALITY = 75;
/** libwebp `method` (0 fast .. 6 slow); 4 is its default and what the sharp peer uses. */
export const WEBP_EFFORT = 4;
