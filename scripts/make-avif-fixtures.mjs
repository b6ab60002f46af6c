// Makes the AV1 decoder's fixtures of test/fixtures/heif (av1-*.avif; see the README
// there) from `p3-reference.jpg` (the photo resized to 400x326, sRGB), with Debian's
// avifenc (libavif-bin 0.11, aom): every chroma layout and bit depth, a grid, the
// transforms (irot/imir/clap) and a container that lies about its size.
//
// Needs `apt-get install -y libavif-bin`; sharp (a devDependency) writes the PNGs.
// Usage: node scripts/make-avif-fixtures.mjs
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { avifEnc } from "./lib/heif-writer.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = path.join(root, "test/fixtures/heif");
const tmp = mkdtempSync(path.join(tmpdir(), "avif-fixtures-"));

const save = (name, bytes) => {
  writeFileSync(path.join(out, name), bytes);
  console.log(`${name.padEnd(28)} ${bytes.length} bytes`);
};

const photo = path.join(tmp, "photo.png");
await sharp(path.join(out, "p3-reference.jpg")).png().toFile(photo);
const photo16 = path.join(tmp, "photo16.png");
await sharp(path.join(out, "p3-reference.jpg")).toColourspace("rgb16").png().toFile(photo16);

const enc = (name, input, args) => save(name, avifEnc(input, path.join(tmp, name), args));

// Layouts and depths (avifenc's default is 4:4:4 8-bit).
enc("av1-400.avif", photo, ["-y", "400"]);
enc("av1-420.avif", photo, ["-y", "420"]);
enc("av1-422-10bit.avif", photo16, ["-y", "422", "-d", "10", "-r", "limited"]);
enc("av1-444-12bit.avif", photo16, ["-y", "444", "-d", "12"]);
// A 2x3 grid of 200x108 tiles (the top 324 rows; avifenc splits only into even cells),
// each its own AV1 image: three tile rows.
const top = path.join(tmp, "top.png");
await sharp(photo).extract({ left: 0, top: 0, width: 400, height: 324 }).png().toFile(top);
enc("av1-grid.avif", top, ["-y", "444", "-g", "2x3"]);
// irot 1 (90° anticlockwise) with a horizontal mirror, and a 300x200 clean aperture.
enc("av1-irot1-imir1.avif", photo, ["-y", "420", "--irot", "1", "--imir", "1"]);
enc("av1-clap.avif", photo, ["-y", "420", "--crop", "50,60,300,200"]);
// An alpha plane taller than the decoder's row window (256 rows): a left-to-right ramp.
const ramp = Buffer.alloc(400 * 327);
for (let i = 0; i < ramp.length; i++) ramp[i] = Math.round(((i % 400) * 255) / 399);
const withAlpha = path.join(tmp, "alpha.png");
await sharp(photo)
  .joinChannel(ramp, { raw: { width: 400, height: 327, channels: 1 } })
  .png()
  .toFile(withAlpha);
enc("av1-alpha.avif", withAlpha, ["-y", "420"]);
// Screen content (a few repeated 8x12 glyphs) encoded with intra block copy, which
// copies from anywhere above in the same frame: dav1d decodes it whole, not through the
// row window. 480x360.
const glyphs = Array.from({ length: 10 }, (_, g) =>
  Array.from({ length: 96 }, (_, i) => ((g * 7919 + i * 104729) % 3 === 0 ? 255 : 0)),
);
const screen = Buffer.alloc(480 * 360 * 3);
for (let y = 0; y < 360; y++)
  for (let x = 0; x < 480; x++) {
    const v = glyphs[((x >> 3) * 7 + Math.floor(y / 12) * 3) % 10][(y % 12) * 8 + (x % 8)];
    screen.set([v, (x >> 6) % 2 ? v : 40, 255 - v], (y * 480 + x) * 3);
  }
const screenPng = path.join(tmp, "screen.png");
await sharp(screen, { raw: { width: 480, height: 360, channels: 3 } })
  .png()
  .toFile(screenPng);
enc("av1-intrabc.avif", screenPng, [
  "-s",
  "6",
  "-a",
  "tune-content=screen",
  "-a",
  "enable-intrabc=1",
]);

// The attack of issue 20: a 4096x4096 AV1 image in a container whose ispe says 64x64.
const flat = path.join(tmp, "flat.png");
await sharp({
  create: { width: 4096, height: 4096, channels: 3, background: { r: 120, g: 120, b: 120 } },
})
  .png()
  .toFile(flat);
const big = avifEnc(flat, path.join(tmp, "flat.avif"), ["-s", "10", "--min", "63", "--max", "63"]);
const at = big.indexOf(Buffer.from("ispe"));
if (at < 0 || big.readUInt32BE(at + 8) !== 4096) throw new Error("no 4096x4096 ispe found");
big.writeUInt32BE(64, at + 8);
big.writeUInt32BE(64, at + 12);
save("av1-ispe-lies.avif", big);

rmSync(tmp, { recursive: true, force: true });
