/**
 * What a decode may cost besides its memory estimate: the CPU limits of each decoder,
 * applied by the header probe before a decode starts and again by the decoder while it
 * runs (docs/operations.md lists them with what a refusal looks like).
 */

/**
 * Most scans (SOS markers) a JPEG may have. libjpeg accepts any number, and each scan
 * walks every block of its components however few bytes it holds (a 0.6 MB file of
 * 14,000 repeated 44-byte scans took 106 s). libvips and ImageMagick refuse past ~100;
 * encoders write 1 (baseline) to ~12 (progressive).
 */
export const JPEG_MAX_SCANS = 100;

/**
 * Most chunks a PNG may have (image data included): each costs a walk of its header and,
 * for image data, a write into the inflater. Encoders write image data in chunks of
 * 8 KB (libpng) to 1 MB, so a 50 MB upload has a few thousand at most.
 */
export const PNG_MAX_CHUNKS = 65_536;

/**
 * Most ancillary (lower-case, ignored here) chunks a PNG may have, and the largest one:
 * libpng's own defaults (PNG_USER_CHUNK_CACHE_MAX 1000, PNG_USER_CHUNK_MALLOC_MAX
 * 8,000,000 bytes).
 */
export const PNG_MAX_ANCILLARY_CHUNKS = 1000;
export const PNG_MAX_ANCILLARY_BYTES = 8_000_000;
