import { readFileSync } from "node:fs";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import {
  compareThumb,
  judge,
  libvipsVerdict,
  MATCH_PSNR_DB,
} from "../../scripts/lib/corpus-compare.mjs";

// The judging half of `npm run corpus` on the repository's own photos: no stack, no
// network. Thumbnails are made here by libvips itself, turned or not, so the compare
// must tell a right drawing from a turned one.

const photo = (name: string) =>
  new Uint8Array(readFileSync(new URL(`../fixtures/images/${name}`, import.meta.url)));

/** A 320-edge WebP thumbnail of the upright photo, optionally turned as orientation `o`. */
async function thumbOf(bytes: Uint8Array, turn?: (img: sharp.Sharp) => sharp.Sharp) {
  const upright = await sharp(bytes).autoOrient().toBuffer();
  let img = sharp(upright);
  if (turn) img = turn(img);
  return new Uint8Array(
    await img.resize(320, 320, { fit: "inside" }).webp({ quality: 75 }).toBuffer(),
  );
}

describe("the corpus comparison", () => {
  it("reads what libvips makes of a photo: clean, upright size, orientation", async () => {
    // Landscape_6.jpg: the classic EXIF-orientation suite's 600x450 picture stored 450x600, tag 6.
    const v = await libvipsVerdict(photo("Landscape_6.jpg"));
    expect(v).toMatchObject({ decodes: "clean", format: "jpeg", orientation: 6 });
    expect([v.width, v.height]).toEqual([600, 450]);
    expect(await libvipsVerdict(photo("corrupt-header.jpg"))).toMatchObject({ decodes: "no" });
  });

  it("matches a right thumbnail and names the orientation of a turned one", async () => {
    const bytes = photo("Landscape_6.jpg");
    const right = await compareThumb(bytes, await thumbOf(bytes));
    expect(right.match).toBe(true);
    expect(right.psnr).toBeGreaterThan(MATCH_PSNR_DB);
    const mirrored = await compareThumb(bytes, await thumbOf(bytes, (i) => i.flop()));
    expect(mirrored).toMatchObject({ match: false, drawnAs: 2 });
    const other = await compareThumb(
      bytes,
      await thumbOf(photo("Landscape_1.jpg"), (i) => i.negate()),
    );
    expect(other.match).toBe(false);
  });

  it("keeps transparency in the comparison: a thumbnail drawn opaque does not match", async () => {
    const bytes = photo("5_webp_a.webp");
    expect((await compareThumb(bytes, await thumbOf(bytes))).match).toBe(true);
    const flat = await thumbOf(bytes, (i) => i.flatten({ background: "#000000" }));
    expect((await compareThumb(bytes, flat)).match).toBe(false);
  });

  it("judges parity, refusals and what libvips refuses", async () => {
    const clean = await libvipsVerdict(photo("concert.jpg"));
    const made = { status: "processed", width: 400, height: 267, variants: { thumb: {} } };
    const thumb = await compareThumb(photo("concert.jpg"), await thumbOf(photo("concert.jpg")));
    expect(judge(clean, made, thumb)).toEqual({ ok: true, class: "parity", why: "" });
    expect(judge(clean, { ...made, width: 267, height: 400 }, thumb).why).toMatch(/^size/);
    const refused = {
      status: "failed",
      variants: { thumb: null },
      error: { code: "corrupt", message: "The JPEG cannot be decoded" },
    };
    expect(judge(clean, refused, null)).toMatchObject({ ok: false, why: /refused corrupt/ });
    const broken = await libvipsVerdict(photo("corrupt-header.jpg"));
    expect(judge(broken, refused, null)).toMatchObject({ ok: true, class: "libvips-refuses" });
    expect(judge(broken, { ...refused, error: null }, null)).toMatchObject({ ok: false });
  });
});
