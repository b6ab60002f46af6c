// The bench's inputs: photo-like JPEGs and a PNG made from a real photo, and the fixture
// photos a user could upload.
import { readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { fixturesDir, SOURCE_PHOTO } from "./common.mjs";

/** Deterministic roughly-gaussian noise (sigma ~6), so the entropy data is photo-sized. */
function addNoise(pixels) {
  let s = 0x9e3779b9;
  const rand = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  for (let i = 0; i < pixels.length; i++) {
    const n = (rand() + rand() + rand() - 1.5) * 12;
    pixels[i] = Math.max(0, Math.min(255, pixels[i] + n));
  }
  return pixels;
}

export async function photoLike(width, height) {
  const { data, info } = await sharp(path.join(fixturesDir, SOURCE_PHOTO))
    .resize(width, height, { fit: "cover", kernel: "cubic" })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return sharp(addNoise(data), {
    raw: { width: info.width, height: info.height, channels: info.channels },
  });
}

export async function generate(dir) {
  const jpeg = { quality: 90, mozjpeg: false, chromaSubsampling: "4:2:0" };
  const twelve = await photoLike(4000, 3000);
  const twentyFour = await photoLike(6000, 4000);
  const out = [
    ["12mp-baseline.jpg", twelve.clone().jpeg(jpeg)],
    ["24mp-baseline.jpg", twentyFour.clone().jpeg(jpeg)],
    ["12mp-progressive.jpg", twelve.clone().jpeg({ ...jpeg, progressive: true })],
    ["12mp.png", twelve.clone().png()],
  ];
  const files = [];
  for (const [name, img] of out) {
    const file = path.join(dir, name);
    writeFileSync(file, await img.toBuffer());
    files.push(file);
  }
  return files;
}

/** The fixture photos a user could upload; refusals (GIF, SVG, corrupt) and the animated WebP (its first frame only) are not timed. */
export function fixturePhotos() {
  const skipped = [];
  const files = [];
  for (const name of readdirSync(fixturesDir).sort()) {
    if (!/\.(jpe?g|png|webp)$/i.test(name)) {
      if (!name.endsWith(".md")) skipped.push(`${name} (not JPEG/PNG/WebP)`);
    } else if (name.startsWith("corrupt")) skipped.push(`${name} (corrupt)`);
    else if (name.startsWith("animated"))
      skipped.push(`${name} (animated: first frame only, not timed)`);
    else files.push(path.join(fixturesDir, name));
  }
  return { files, skipped };
}
