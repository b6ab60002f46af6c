// Makes the HEIF fixtures of test/fixtures/heif beside make-heif-fixtures.mjs's (see
// test/fixtures/heif/README.md): overlays (iovl) with their references, heif-convert's
// decoding of alpha.heic, and big or deep single coded images for the memory estimate
// (12 MP at 10 and 12 bits, 48 MP at 8 bits; smooth gradients, so the files are small:
// libde265's memory depends on the picture's size, not its content).
//
// heif-enc writes no overlays, so its coded images (a photo crop, an image with an alpha
// plane) are laid out here as an `iovl` derived image (ISO/IEC 23008-12 6.6.2.3) by
// scripts/lib/heif-writer.mjs.
//
// References: overlay-reference.png is heif-convert's (libheif 1.15) own decoding of
// overlay.heic. libheif 1.15 misdraws layers at negative offsets (its copy loop starts
// at the clipped-off column count), so overlay-negative-reference.png is the canvas
// composed by sharp from heif-convert's decodings of each layer, at the same offsets.
//
// Needs Debian's libheif-examples (heif-enc, heif-convert): `apt-get install -y libheif-examples`.
// Usage: node scripts/make-heif-extra-fixtures.mjs [overlay] [avif-overlay] [big] [line]
// (default: all; the big files take minutes to encode)
//
// overlay.avif: the same layout as overlay.heic with avifenc's av01 items (avifenc 0.11
// writes no iovl); its reference is heif-convert's decoding (Debian's libheif reads AVIF
// through its dav1d/aom plugin).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { avifEnc, heifEnc, ispe, readItem, u8, u16, writeHeif } from "./lib/heif-writer.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const images = path.join(root, "test/fixtures/images");
const out = path.join(root, "test/fixtures/heif");
const tmp = mkdtempSync(path.join(tmpdir(), "overlay-fixtures-"));
const PHOTO = path.join(images, "2569067123_aca715a2ee_o.jpg");
const CANVAS = { width: 480, height: 360 };
/** 16-bit RGBA fill: a blue-grey, so a layer drawn off its place shows. */
const FILL = [0x3000, 0x6000, 0x9000, 0xffff];

const save = (name, bytes) => {
  writeFileSync(path.join(out, name), bytes);
  console.log(`${name.padEnd(32)} ${bytes.length} bytes`);
};
const tmpFile = (name) => path.join(tmp, name);

/**
 * heif-enc's (or, `av01`, avifenc's) coded image(s) of a sharp image: colour, and alpha
 * when the image has one.
 */
async function encode(img, name, codec = "hvc1") {
  const png = tmpFile(`${name}.png`);
  await img.png().toFile(png);
  const heic = tmpFile(`${name}.${codec === "av01" ? "avif" : "heic"}`);
  if (codec === "av01") avifEnc(png, heic);
  else heifEnc(png, heic);
  const decoded = tmpFile(`${name}-decoded.png`);
  execFileSync("heif-convert", [heic, decoded], { stdio: "pipe" });
  const { hasAlpha } = await sharp(png).metadata();
  return {
    colour: readItem(heic),
    alpha: hasAlpha ? readItem(heic, (ids) => ids[1]) : null,
    decoded,
  };
}

const i16 = (v) => u16(v < 0 ? v + 0x10000 : v);

/** An iovl HEIF of `layers` ([{ coded, x, y }]) on the canvas; `codec` their item type. */
function overlayHeif(layers, codec = "hvc1") {
  const descriptor = Buffer.concat([
    u8(0),
    u8(0),
    ...FILL.map(u16),
    u16(CANVAS.width),
    u16(CANVAS.height),
    ...layers.flatMap((l) => [i16(l.x), i16(l.y)]),
  ]);
  const items = [
    { id: 1, type: "iovl", idat: descriptor, props: [ispe(CANVAS.width, CANVAS.height)] },
  ];
  const refs = [{ type: "dimg", from: 1, to: layers.map((_, i) => 10 + 2 * i) }];
  layers.forEach((l, i) => {
    items.push({
      id: 10 + 2 * i,
      type: codec,
      hidden: true,
      data: l.coded.colour.data,
      props: l.coded.colour.props,
    });
    if (l.coded.alpha) {
      items.push({
        id: 11 + 2 * i,
        type: codec,
        hidden: true,
        data: l.coded.alpha.data,
        props: l.coded.alpha.props,
      });
      refs.push({ type: "auxl", from: 11 + 2 * i, to: [10 + 2 * i] });
    }
  });
  return codec === "av01"
    ? writeHeif({ brand: "avif", compat: ["mif1", "avif", "miaf"], primary: 1, items, refs })
    : writeHeif({ brand: "heic", compat: ["mif1", "heic"], primary: 1, items, refs });
}

/** A smooth RGB gradient of w x h as a PNG, 16-bit for deep HEICs (heif-enc's -b). */
async function gradient(w, h, file, deep) {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><defs><linearGradient id="a" x2="1" y2="1"><stop offset="0" stop-color="#203040"/><stop offset="0.5" stop-color="#c08040"/><stop offset="1" stop-color="#40a0e0"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#a)"/></svg>`;
  await sharp(Buffer.from(svg), { limitInputPixels: false })
    .removeAlpha() // sharp renders SVG with alpha; heif-enc would write an alpha plane
    .toColourspace(deep ? "rgb16" : "srgb")
    .png({ compressionLevel: 1 })
    .toFile(file);
}

const parts = process.argv.slice(2);
const want = (p) => parts.length === 0 || parts.includes(p);

try {
  if (want("big")) {
    for (const [name, w, h, args] of [
      ["12mp-10bit.heic", 4032, 3024, ["-b", "10"]],
      ["12mp-12bit.heic", 4032, 3024, ["-b", "12"]],
      // heif-enc 1.15 crashes on a 48 MP 16-bit PNG: this one is fed 8 bits.
      ["48mp-untiled.heic", 8064, 6048, []],
    ]) {
      const png = tmpFile(`${name}.png`);
      await gradient(w, h, png, args.length > 0);
      save(name, heifEnc(png, tmpFile(name), ["-p", "preset=ultrafast", ...args]));
    }
  }
  if (want("line")) {
    // Either side of the budget's line for untiled HEVC (8-bit: ~29.7 MP at 4:3 by the
    // estimate), and a 48 MP 10-bit one (refused, like the 8-bit 48 MP).
    for (const [name, w, h, args] of [
      ["28mp-untiled.heic", 6144, 4608, []],
      ["31mp-untiled.heic", 6400, 4800, []],
      ["48mp-10bit-untiled.heic", 8064, 6048, ["-b", "10"]],
    ]) {
      const png = tmpFile(`${name}.png`);
      await gradient(w, h, png, args.length > 0);
      save(name, heifEnc(png, tmpFile(name), ["-p", "preset=ultrafast", ...args]));
    }
  }
  if (want("overlay")) await overlays();
  if (want("avif-overlay")) await avifOverlay();
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

/** overlay.heic, overlay-negative.heic and their references; alpha.heic's reference. */
async function overlays() {
  save(
    "alpha-reference.png",
    await sharp(
      (() => {
        const png = tmpFile("alpha-reference.png");
        execFileSync("heif-convert", [path.join(out, "alpha.heic"), png], { stdio: "pipe" });
        return png;
      })(),
    )
      .png()
      .toBuffer(),
  );
  // A photo crop, an image with an alpha plane (drawn over the photo's corner), and a
  // photo crop that runs past the canvas's right and bottom edges (clipped).
  const photo = await encode(sharp(PHOTO).resize(320, 240, { fit: "cover" }), "photo");
  const alpha = await encode(sharp(path.join(images, "5_webp_a.webp")).resize(200), "alpha");
  const corner = await encode(
    sharp(PHOTO).extract({ left: 0, top: 0, width: 400, height: 300 }).resize(160, 120),
    "corner",
  );

  const positive = [
    { coded: photo, x: 20, y: 16 },
    { coded: alpha, x: 240, y: 120 },
    { coded: corner, x: 400, y: 300 },
  ];
  const file = tmpFile("overlay.heic");
  writeFileSync(file, overlayHeif(positive));
  save("overlay.heic", overlayHeif(positive));
  const reference = tmpFile("overlay-reference.png");
  execFileSync("heif-convert", [file, reference], { stdio: "pipe" });
  save("overlay-reference.png", await sharp(reference).png().toBuffer());

  const negative = [
    { coded: photo, x: -40, y: -24 },
    { coded: alpha, x: 300, y: -50 },
  ];
  save("overlay-negative.heic", overlayHeif(negative));
  const fill = FILL.slice(0, 3).map((v) => v >> 8);
  const canvas = sharp({
    create: { ...CANVAS, channels: 3, background: { r: fill[0], g: fill[1], b: fill[2] } },
  });
  save(
    "overlay-negative-reference.png",
    await canvas
      .composite(negative.map((l) => ({ input: l.coded.decoded, left: l.x, top: l.y })))
      .removeAlpha()
      .png()
      .toBuffer(),
  );
}

/** overlay.avif and its reference: overlay.heic's layout, the layers coded by avifenc. */
async function avifOverlay() {
  const photo = await encode(sharp(PHOTO).resize(320, 240, { fit: "cover" }), "photo", "av01");
  const alpha = await encode(
    sharp(path.join(images, "5_webp_a.webp")).resize(200),
    "alpha",
    "av01",
  );
  const corner = await encode(
    sharp(PHOTO).extract({ left: 0, top: 0, width: 400, height: 300 }).resize(160, 120),
    "corner",
    "av01",
  );
  const layers = [
    { coded: photo, x: 20, y: 16 },
    { coded: alpha, x: 240, y: 120 },
    { coded: corner, x: 400, y: 300 },
  ];
  const file = tmpFile("overlay.avif");
  writeFileSync(file, overlayHeif(layers, "av01"));
  save("overlay.avif", overlayHeif(layers, "av01"));
  const reference = tmpFile("overlay-avif-reference.png");
  execFileSync("heif-convert", [file, reference], { stdio: "pipe" });
  save("overlay-avif-reference.png", await sharp(reference).png().toBuffer());
}
