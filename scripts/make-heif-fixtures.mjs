// Makes the HEIC / AVIF / GIF fixtures of test/fixtures/heif from the real photos of
// test/fixtures/images (see test/fixtures/heif/README.md for what each file is).
//
// Needs Debian's libheif-examples (heif-enc 1.15 with x265) and libavif-bin (avifenc with
// aom): `apt-get install -y libheif-examples libavif-bin`. sharp (a devDependency) does
// the resizing and colour conversion.
//
// heif-enc writes single images only and bakes EXIF orientation into the pixels, so the
// files that need HEIF's own structure (irot/imir, grids, auxiliary images, broken
// layouts) are re-assembled here from heif-enc's coded images by a small ISOBMFF writer,
// to ISO/IEC 23008-12.
//
// Usage: node scripts/make-heif-fixtures.mjs
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import {
  auxC,
  avifEnc,
  box,
  exifItem,
  exifTiff,
  full,
  heifEnc,
  imir,
  irot,
  ispe,
  readSingle,
  str,
  u8,
  u16,
  u32,
  writeHeif,
} from "./lib/heif-writer.mjs";
import { unorient } from "./lib/orientation.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const images = path.join(root, "test/fixtures/images");
const out = path.join(root, "test/fixtures/heif");
const tmp = mkdtempSync(path.join(tmpdir(), "heif-fixtures-"));
const PHOTO = path.join(images, "2569067123_aca715a2ee_o.jpg");

const save = (name, bytes) => {
  writeFileSync(path.join(out, name), bytes);
  console.log(`${name.padEnd(28)} ${bytes.length} bytes`);
};
const tmpFile = (name) => path.join(tmp, name);

/** Encodes a raw RGB(A) image region as one HEVC coded image (heif-enc) and reads it back. */
async function encodeTile(img, name, args = []) {
  const png = tmpFile(`${name}.png`);
  await img.png().toFile(png);
  heifEnc(png, tmpFile(`${name}.heic`), args);
  return readSingle(tmpFile(`${name}.heic`));
}

/** irot/imir sequences whose composition is EXIF orientation o (see src/codecs/heif/geometry.ts). */
const TRANSFORMS = {
  1: [],
  2: [imir(1)],
  3: [irot(2)],
  4: [imir(0)],
  5: [irot(3), imir(1)],
  6: [irot(3)],
  7: [irot(1), imir(1)],
  8: [irot(1)],
};

const EXIF = { make: "Apple", model: "iPhone 13 mini", taken: "2021:06:05 14:03:12" };

// ---- the fixtures -----------------------------------------------------------------------------

try {
  // 1. A single-image HEIC of the real photo, and the JPEG a phone would export of it.
  const photo = sharp(PHOTO).resize(800, 652, { fit: "cover" });
  await photo.clone().jpeg({ quality: 85 }).toFile(tmpFile("photo.jpg"));
  save("photo-export.jpg", readFileSync(tmpFile("photo.jpg")));
  const single = await encodeTile(photo.clone(), "photo");
  const photoBytes = writeHeif({
    primary: 1,
    items: [
      {
        id: 1,
        type: "hvc1",
        data: single.data,
        props: [
          ...single.byType("hvcC"),
          ispe(800, 652),
          ...single.byType("colr"),
          ...single.byType("pixi"),
        ],
      },
      { id: 2, type: "Exif", data: exifItem(exifTiff({ ...EXIF, orientation: 1 })), props: [] },
    ],
    refs: [{ type: "cdsc", from: 2, to: [1] }],
  });
  save("photo.heic", photoBytes);
  // heif-enc's own output for an odd height: a 1x1 grid whose 800x654 tile is cropped to 653.
  await sharp(PHOTO).resize(800).png().toFile(tmpFile("odd.png"));
  save("odd-size.heic", heifEnc(tmpFile("odd.png"), tmpFile("odd.heic"), ["-q", "30"]));

  // 2. Orientation: Landscape_1 (upright) stored turned, with irot/imir saying how to show
  //    it, and the EXIF Orientation tag saying the same (as iPhones write it).
  const upright = await sharp(path.join(images, "Landscape_1.jpg"))
    .resize(240)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  for (let o = 1; o <= 8; o++) {
    const stored = unorient(upright, o);
    const t = await encodeTile(stored, `orient-${o}`);
    const sw = o >= 5 ? upright.info.height : upright.info.width;
    const sh = o >= 5 ? upright.info.width : upright.info.height;
    save(
      `orient-${o}.heic`,
      writeHeif({
        primary: 1,
        items: [
          {
            id: 1,
            type: "hvc1",
            data: t.data,
            props: [...t.byType("hvcC"), ispe(sw, sh), ...TRANSFORMS[o]],
          },
          { id: 2, type: "Exif", data: exifItem(exifTiff({ ...EXIF, orientation: o })), props: [] },
        ],
        refs: [{ type: "cdsc", from: 2, to: [1] }],
      }),
    );
  }

  // 3. A 512x512-tiled grid (iPhone layout): 1100x700 in 3x2 tiles, the right and bottom
  //    tiles overhanging; shown rotated (irot 3, like a portrait iPhone shot); with a
  //    thumbnail and a depth map whose data is garbage: decoding either would fail.
  const W = 1100;
  const H = 700;
  const gridSrc = await sharp(PHOTO)
    .resize(W, H, { fit: "cover" })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const padded = sharp(gridSrc.data, { raw: { width: W, height: H, channels: 3 } }).extend({
    right: 1536 - W,
    bottom: 1024 - H,
    extendWith: "copy",
  });
  const paddedRaw = await padded.raw().toBuffer();
  const tiles = [];
  for (let r = 0; r < 2; r++)
    for (let c = 0; c < 3; c++) {
      const tile = sharp(paddedRaw, { raw: { width: 1536, height: 1024, channels: 3 } }).extract({
        left: c * 512,
        top: r * 512,
        width: 512,
        height: 512,
      });
      tiles.push(await encodeTile(tile, `tile-${r}-${c}`, ["-q", "30"]));
    }
  const gridDescriptor = (rows, cols, w, h) =>
    Buffer.concat([u8(0), u8(0), u8(rows - 1), u8(cols - 1), u16(w), u16(h)]);
  const gridItems = (descriptor, extra = {}) => [
    {
      id: 1,
      type: "grid",
      idat: descriptor,
      props: [ispe(extra.w ?? W, extra.h ?? H), ...(extra.transforms ?? [])],
    },
    ...tiles.map((t, i) => ({
      id: 10 + i,
      type: "hvc1",
      hidden: true,
      data: t.data,
      props: [...t.byType("hvcC"), ispe(512, 512)],
    })),
  ];
  const garbage = Buffer.alloc(300, 0x5a);
  save(
    "grid.heic",
    writeHeif({
      primary: 1,
      items: [
        ...gridItems(gridDescriptor(2, 3, W, H), { transforms: [irot(3)] }),
        { id: 2, type: "Exif", data: exifItem(exifTiff({ ...EXIF, orientation: 6 })), props: [] },
        { id: 3, type: "hvc1", data: garbage, props: [...tiles[0].byType("hvcC"), ispe(320, 204)] },
        {
          id: 4,
          type: "hvc1",
          hidden: true,
          data: garbage,
          props: [
            ...tiles[0].byType("hvcC"),
            ispe(W, H),
            auxC("urn:com:apple:photo:2020:aux:hdrgainmap"),
          ],
        },
        {
          id: 5,
          type: "hvc1",
          hidden: true,
          data: garbage,
          props: [...tiles[0].byType("hvcC"), ispe(W, H), auxC("urn:mpeg:hevc:2015:auxid:2")],
        },
      ],
      refs: [
        { type: "dimg", from: 1, to: tiles.map((_, i) => 10 + i) },
        { type: "cdsc", from: 2, to: [1] },
        { type: "thmb", from: 3, to: [1] },
        { type: "auxl", from: 4, to: [1] },
        { type: "auxl", from: 5, to: [1] },
      ],
    }),
  );
  save(
    "grid-upright.jpg",
    await sharp(
      await sharp(gridSrc.data, { raw: { width: W, height: H, channels: 3 } })
        .rotate(90)
        .jpeg()
        .toBuffer(),
    )
      .resize(240)
      .jpeg({ quality: 80 })
      .toBuffer(),
  );

  // 4. Broken files (each must fail permanently with a clear message).
  save(
    "bad-grid-gap.heic",
    writeHeif({
      primary: 1,
      items: gridItems(gridDescriptor(2, 3, 1600, H), { w: 1600 }),
      refs: [{ type: "dimg", from: 1, to: tiles.map((_, i) => 10 + i) }],
    }),
  );
  save(
    "bad-grid-huge.heic",
    writeHeif({
      primary: 1,
      items: [
        {
          id: 1,
          type: "grid",
          idat: gridDescriptor(256, 256, 65535, 65535),
          props: [ispe(65535, 65535)],
        },
        {
          id: 10,
          type: "hvc1",
          hidden: true,
          data: tiles[0].data,
          props: [...tiles[0].byType("hvcC"), ispe(512, 512)],
        },
      ],
      refs: [{ type: "dimg", from: 1, to: [10] }],
    }),
  );
  save(
    "bad-no-hvcc.heic",
    writeHeif({
      primary: 1,
      items: [{ id: 1, type: "hvc1", data: tiles[0].data, props: [ispe(512, 512)] }],
    }),
  );
  // An image sequence (burst) with no still image: ftyp msf1 and a movie box.
  save(
    "bad-sequence.heic",
    Buffer.concat([
      box("ftyp", str("msf1"), u32(0), str("msf1"), str("iso8"), str("hevc")),
      box("moov", full("mvhd", 0, 0, Buffer.alloc(96))),
    ]),
  );

  // 5. 10-bit, alpha, Display P3 (ICC, and nclx primaries 12 without ICC).
  const png16 = tmpFile("photo16.png");
  await sharp(PHOTO).resize(400).toColourspace("rgb16").png().toFile(png16);
  save("10bit.heic", heifEnc(png16, tmpFile("10bit.heic"), ["-b", "10"]));
  const alphaPng = tmpFile("alpha.png");
  await sharp(path.join(images, "5_webp_a.webp")).resize(200).png().toFile(alphaPng);
  save("alpha.heic", heifEnc(alphaPng, tmpFile("alpha.heic")));
  const srgb = sharp(PHOTO).resize(400);
  save("p3-reference.jpg", await srgb.clone().jpeg({ quality: 90 }).toBuffer());
  const p3Png = tmpFile("p3.png");
  await srgb.clone().withIccProfile("p3").png().toFile(p3Png);
  save("p3.heic", heifEnc(p3Png, tmpFile("p3.heic")));
  // The same P3 pixel values without a profile, tagged nclx 12/13/6 instead. (Reading
  // p3.png back with sharp would convert it to sRGB: the values come from the conversion.)
  const p3Raw = tmpFile("p3-raw.png");
  const p3Values = await srgb
    .clone()
    .withIccProfile("p3")
    .raw()
    .toBuffer({ resolveWithObject: true });
  await sharp(p3Values.data, { raw: p3Values.info }).png().toFile(p3Raw);
  // heif-enc 1.15 writes no colr box for a PNG, whatever its nclx options say (nor VUI
  // primaries), and an odd height as a 1x1 grid: the P3 values, edge-padded to an even
  // height, are coded alone and wrapped as that 1x1 grid with a colr nclx 12/13/6 property.
  const p3Meta = await sharp(p3Raw).metadata();
  const p3EvenH = p3Meta.height + (p3Meta.height % 2);
  const p3Tile = await encodeTile(
    sharp(p3Raw).extend({ bottom: p3EvenH - p3Meta.height, extendWith: "copy" }),
    "p3-nclx-tile",
  );
  save(
    "p3-nclx.heic",
    writeHeif({
      primary: 1,
      items: [
        {
          id: 1,
          type: "grid",
          idat: Buffer.concat([u8(0), u8(0), u8(0), u8(0), u16(p3Meta.width), u16(p3Meta.height)]),
          props: [
            ispe(p3Meta.width, p3Meta.height),
            box("colr", str("nclx"), u16(12), u16(13), u16(6), u8(0x80)),
          ],
        },
        {
          id: 2,
          type: "hvc1",
          hidden: true,
          data: p3Tile.data,
          props: [...p3Tile.byType("hvcC"), ispe(p3Meta.width, p3EvenH)],
        },
      ],
      refs: [{ type: "dimg", from: 1, to: [2] }],
    }),
  );

  // 6. AVIF: the photo (with EXIF), 10-bit, alpha, Display P3 (ICC; nclx 8- and 10-bit).
  const exifFile = tmpFile("exif.bin");
  writeFileSync(exifFile, exifTiff({ ...EXIF, orientation: 1 }));
  const photoPng = tmpFile("photo.png");
  await photo.clone().png().toFile(photoPng);
  save("photo.avif", avifEnc(photoPng, tmpFile("photo.avif"), ["--exif", exifFile]));
  save("10bit.avif", avifEnc(png16, tmpFile("10bit.avif"), ["-d", "10"]));
  save("alpha.avif", avifEnc(alphaPng, tmpFile("alpha.avif")));
  // Display P3 AVIF: the P3 PNG with its ICC profile (avifenc embeds it in `colr` prof),
  // and the same pixel values without a profile tagged nclx 12/13/6, 8-bit and 10-bit.
  save("p3.avif", avifEnc(p3Png, tmpFile("p3.avif")));
  const nclxP3 = ["--cicp", "12/13/6", "-r", "full"];
  save("p3-nclx.avif", avifEnc(p3Raw, tmpFile("p3-nclx.avif"), nclxP3));
  save(
    "p3-nclx-10bit.avif",
    avifEnc(p3Raw, tmpFile("p3-nclx-10bit.avif"), [...nclxP3, "-d", "10"]),
  );

  // 7. GIF: a still one and an animated one (frames of animated-loop-3.webp).
  save("still.gif", await sharp(PHOTO).resize(160).gif().toBuffer());
  save(
    "animated.gif",
    await sharp(path.join(images, "animated-loop-3.webp"), { animated: true }).gif().toBuffer(),
  );
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
