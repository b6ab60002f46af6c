// What libvips (sharp) makes of an image, and how Darkroom's thumbnail of it compares:
// the judging half of `npm run corpus` (scripts/corpus.mjs), kept apart so a test runs it
// on the repository's own photos without a stack.
import sharp from "sharp";

/** The formats Darkroom takes (sharp's names; AVIF and HEIC are both "heif" to sharp). */
export const DARKROOM_FORMATS = new Set(["jpeg", "png", "webp", "gif", "heif"]);

/**
 * Thumbnails whose pixels are this close (PSNR in dB over RGB composited on black and on
 * white) are "the same picture". Both sides are lossy WebP at the thumbnail's quality
 * (libvips' decode is resized and encoded as Darkroom encodes its thumbnail, so a 4x1
 * palette strip loses the same colour to chroma subsampling on both); a right decode
 * measures 28-45 dB, a wrong orientation, palette or transparency below 20.
 */
export const MATCH_PSNR_DB = 24;
/** Darkroom's thumbnail encoding (workers/processor/src/image/variants.ts). */
const THUMB_WEBP = { quality: 75, effort: 4 };

/**
 * libvips' verdict on the bytes: `clean` when it decodes them with its default strictness
 * (sharp's failOn "warning"), `lenient` when only with failOn "none" (damaged files it
 * opens anyway), and the upright size, orientation and frame count it reads.
 * @param {Uint8Array} bytes
 */
export async function libvipsVerdict(bytes) {
  const meta = await sharp(bytes, { failOn: "none" })
    .metadata()
    .catch((err) => ({ error: message(err) }));
  if ("error" in meta) return { decodes: "no", error: meta.error };
  let decodes = "clean";
  let error = null;
  try {
    await sharp(bytes).raw().toBuffer();
  } catch (err) {
    error = message(err);
    decodes = await sharp(bytes, { failOn: "none" })
      .raw()
      .toBuffer()
      .then(() => "lenient")
      .catch(() => "no");
  }
  const orientation = meta.orientation ?? 1;
  const swap = orientation >= 5;
  return {
    decodes,
    error,
    format: meta.format ?? null,
    width: swap ? meta.height : meta.width,
    height: swap ? meta.width : meta.height,
    orientation,
    animated: (meta.pages ?? 1) > 1,
  };
}

/**
 * libvips' thumbnail as RGBA: the first frame, upright, at exactly width x height, through
 * the WebP encoding Darkroom's thumbnail has.
 */
async function uprightRgba(bytes, width, height, orientation = 1) {
  let img = sharp(bytes, { failOn: "none" }).autoOrient();
  img = applyOrientation(img, orientation);
  const webp = await img
    .resize(width, height, { fit: "fill", kernel: "lanczos3" })
    .webp(THUMB_WEBP)
    .toBuffer();
  return sharp(webp).ensureAlpha().raw().toBuffer();
}

/**
 * sharp operations that turn an upright image as EXIF orientation `o` would turn it:
 * used to name what a wrong drawing looks like ("drawn as orientation 6").
 */
function applyOrientation(img, o) {
  switch (o) {
    case 2:
      return img.flop();
    case 3:
      return img.rotate(180);
    case 4:
      return img.flip();
    case 5:
      return img.rotate(90).flop();
    case 6:
      return img.rotate(90);
    case 7:
      return img.rotate(270).flop();
    case 8:
      return img.rotate(270);
    default:
      return img;
  }
}

/**
 * Mean absolute difference (0-255) and PSNR (dB) of two RGBA images of one size,
 * composited on black and on white, so a difference in colour or in transparency both
 * count, wherever the page shows them.
 * @param {Uint8Array} a
 * @param {Uint8Array} b
 */
export function pixelDifference(a, b) {
  if (a.length !== b.length) throw new Error("images of different sizes");
  let abs = 0;
  let sq = 0;
  let n = 0;
  for (let i = 0; i < a.length; i += 4) {
    const aa = (a[i + 3] ?? 0) / 255;
    const ba = (b[i + 3] ?? 0) / 255;
    for (let c = 0; c < 3; c++) {
      const av = (a[i + c] ?? 0) * aa;
      const bv = (b[i + c] ?? 0) * ba;
      // On black: premultiplied values; on white: plus the background through 1 - alpha.
      const onBlack = av - bv;
      const onWhite = av + 255 * (1 - aa) - (bv + 255 * (1 - ba));
      abs += Math.abs(onBlack) + Math.abs(onWhite);
      sq += onBlack * onBlack + onWhite * onWhite;
      n += 2;
    }
  }
  const mse = n === 0 ? 0 : sq / n;
  return { mad: n === 0 ? 0 : abs / n, psnr: mse === 0 ? 99 : 10 * Math.log10((255 * 255) / mse) };
}

/**
 * Compares Darkroom's thumbnail (any format sharp reads; Darkroom writes WebP) with
 * libvips' upright decode of the original resized to the thumbnail's size. When they do
 * not match, names the orientation the thumbnail looks drawn in, if one matches.
 * @param {Uint8Array} original
 * @param {Uint8Array} thumb
 */
export async function compareThumb(original, thumb) {
  const { data, info } = await sharp(thumb)
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const ref = await uprightRgba(original, info.width, info.height);
  const diff = pixelDifference(ref, data);
  const out = {
    width: info.width,
    height: info.height,
    mad: round(diff.mad),
    psnr: round(diff.psnr),
    match: diff.psnr >= MATCH_PSNR_DB,
    drawnAs: /** @type {number | null} */ (null),
  };
  if (out.match) return out;
  for (const o of [2, 3, 4, 5, 6, 7, 8]) {
    // A turn that swaps the sides needs the swapped size to be drawn at the thumb's size.
    const turned = await uprightRgba(original, info.width, info.height, o).catch(() => null);
    if (turned && pixelDifference(turned, data).psnr >= MATCH_PSNR_DB) {
      out.drawnAs = o;
      break;
    }
  }
  return out;
}

/**
 * One file's verdict. `libvips`: libvipsVerdict's answer; `darkroom`: the asset as the API
 * gave it once settled (or an `error` when it never got that far); `thumb`: the compare.
 * @returns {{ ok: boolean, class: "parity" | "refused-both" | "libvips-refuses", why: string }}
 */
export function judge(libvips, darkroom, thumb) {
  const made = Boolean(darkroom.variants?.thumb);
  if (libvips.decodes !== "clean") {
    // libvips refuses (or opens only leniently): a clear refusal or a decode both do.
    if (made) return { ok: true, class: "libvips-refuses", why: "decoded" };
    const reason = darkroom.error?.message ?? "";
    return {
      ok: reason.length > 0,
      class: "libvips-refuses",
      why: reason ? `refused: ${darkroom.error.code}` : "no reason given",
    };
  }
  if (!made) {
    const e = darkroom.error;
    return {
      ok: false,
      class: "parity",
      why: e ? `refused ${e.code}: ${e.message}` : `not processed (${darkroom.status})`,
    };
  }
  if (darkroom.width !== libvips.width || darkroom.height !== libvips.height)
    return {
      ok: false,
      class: "parity",
      why: `size ${darkroom.width}x${darkroom.height}, libvips ${libvips.width}x${libvips.height}`,
    };
  if (thumb && !thumb.match)
    return {
      ok: false,
      class: "parity",
      why: thumb.drawnAs
        ? `drawn as orientation ${thumb.drawnAs}`
        : `pixels differ (PSNR ${thumb.psnr} dB)`,
    };
  return { ok: true, class: "parity", why: "" };
}

function round(x) {
  return Math.round(x * 100) / 100;
}

function message(err) {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0].slice(0, 160);
}
