// Makes test/fixtures/containers: one real photo (test/fixtures/images/Landscape_1.jpg) stored
// turned by the inverse of each orientation 1..8 in the containers that carry orientation
// besides JPEG and HEIC: PNG (eXIf chunk), WebP (EXIF chunk) and AVIF (irot/imir), so each
// file shown upright is the same 96x72 picture. sharp (a devDependency) writes the PNG and
// WebP with their EXIF Orientation tag; avifenc (Debian's libavif-bin 0.11.1) the AVIF
// with `--irot`/`--imir` (the same compositions as the HEIC fixtures, see
// scripts/make-heif-fixtures.mjs). Each file is checked against libvips before it is kept:
// sharp's autoOrient must turn it back into the upright picture. Also libvips' first frame
// of test/fixtures/images/animated-loop-3.webp, the reference for the animation policy.
//
// Usage: apt-get install -y libavif-bin && node scripts/make-orientation-fixtures.mjs
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { pixelDifference } from "./lib/corpus-compare.mjs";
import { unorient } from "./lib/orientation.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = path.join(root, "test/fixtures/containers");
const tmp = mkdtempSync(path.join(tmpdir(), "orient-fixtures-"));
const W = 96;
const H = 72;

/** avifenc's irot (quarter turns anticlockwise) and imir (axis) composing to orientation o. */
const AVIF_ARGS = {
  1: [],
  2: ["--imir", "1"],
  3: ["--irot", "2"],
  4: ["--imir", "0"],
  5: ["--irot", "3", "--imir", "1"],
  6: ["--irot", "3"],
  7: ["--irot", "1", "--imir", "1"],
  8: ["--irot", "1"],
};

const rgba = async (bytes) =>
  (await sharp(bytes).autoOrient().ensureAlpha().raw().toBuffer({ resolveWithObject: true })).data;

try {
  const upright = await sharp(path.join(root, "test/fixtures/images/Landscape_1.jpg"))
    .resize(W, H, { fit: "cover" })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const reference = await sharp(upright.data, { raw: upright.info }).ensureAlpha().raw().toBuffer();
  for (let o = 1; o <= 8; o++) {
    const stored = () => unorient(upright, o);
    const files = {
      [`orient-${o}.png`]: await stored()
        .png({ palette: true })
        .withMetadata({ orientation: o })
        .toBuffer(),
      [`orient-${o}.webp`]: await stored()
        .webp({ quality: 90 })
        .withMetadata({ orientation: o })
        .toBuffer(),
    };
    const png = path.join(tmp, `stored-${o}.png`);
    await stored().png().toFile(png);
    const avif = path.join(tmp, `orient-${o}.avif`);
    execFileSync("avifenc", ["-s", "8", "--min", "10", "--max", "30", ...AVIF_ARGS[o], png, avif], {
      stdio: "ignore",
    });
    files[`orient-${o}.avif`] = readFileSync(avif);
    for (const [name, bytes] of Object.entries(files)) {
      const { psnr } = pixelDifference(reference, await rgba(bytes));
      if (psnr < 28)
        throw new Error(`${name}: libvips shows it turned (PSNR ${psnr.toFixed(1)} dB)`);
      writeFileSync(path.join(out, name), bytes);
      console.log(
        `${name.padEnd(16)} ${bytes.length} bytes, libvips upright at ${psnr.toFixed(1)} dB`,
      );
    }
  }
  // libvips' first frame of an animated WebP (sharp reads page 0), the reference for
  // Darkroom's: lossy WebP at full size, small enough to keep.
  const first = await sharp(path.join(root, "test/fixtures/images/animated-loop-3.webp"))
    .webp({ quality: 90 })
    .toBuffer();
  writeFileSync(path.join(out, "animated-loop-3.first-frame.webp"), first);
  console.log(`animated-loop-3.first-frame.webp ${first.length} bytes`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
