import { describe, expect, it } from "vitest";
import { decodePng } from "../src/codecs/png-stream";
import { decodeWebp } from "../src/codecs/webp";
import { processImage } from "../src/image/pipeline";
import type { Rgba } from "../src/image/rgba";
import { fixture } from "./fixtures";
import { meanDiff, mirrored } from "./pixels";
import { chunk } from "./png-build";

// test/fixtures/containers: one real photo stored turned by the inverse of each EXIF
// orientation in PNG (eXIf), WebP (EXIF chunk) and AVIF (irot/imir), each checked upright
// in libvips when made (scripts/make-orientation-fixtures.mjs).

async function previewOf(bytes: Uint8Array): Promise<Rgba> {
  const r = await processImage(bytes);
  const img = (await decodeWebp(r.preview.bytes)).value;
  if (!img) throw new Error("no preview");
  return img;
}

describe("orientation of every container that carries it", () => {
  for (const ext of ["png", "webp", "avif"]) {
    for (let o = 1; o <= 8; o++) {
      it(`shows a ${ext.toUpperCase()} stored in orientation ${o} upright, as libvips does`, async () => {
        const r = await processImage(fixture(`orient-${o}.${ext}`));
        expect(r.metadata.orientation).toBe(o);
        expect([r.width, r.height]).toEqual([96, 72]);
        const img = (await decodeWebp(r.preview.bytes)).value;
        if (!img) throw new Error("no preview");
        const ref = await previewOf(fixture(`orient-1.${ext}`));
        // Separately encoded copies differ by a few levels; a wrong turn or mirror by far more.
        expect(meanDiff(img, ref)).toBeLessThan(9);
        expect(meanDiff(ref, mirrored(ref))).toBeGreaterThan(20);
      });
    }
  }
});

/** The chunks of a PNG after its signature, as [type, whole chunk]. */
function pngChunks(png: Uint8Array): Array<[string, Uint8Array]> {
  const out: Array<[string, Uint8Array]> = [];
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  for (let pos = 8; pos + 12 <= png.length; ) {
    const len = dv.getUint32(pos);
    out.push([
      String.fromCharCode(...png.subarray(pos + 4, pos + 8)),
      png.subarray(pos, pos + 12 + len),
    ]);
    pos += 12 + len;
  }
  return out;
}

function u32s(...xs: number[]): Uint8Array {
  const out = new Uint8Array(xs.length * 4);
  const dv = new DataView(out.buffer);
  for (const [i, x] of xs.entries()) dv.setUint32(i * 4, x);
  return out;
}

/**
 * A real PNG made an APNG of two frames: acTL, the default image (IDAT) as frame 0 or (when
 * `defaultIsFrame` is false) outside the animation, then a second frame (fcTL + fdAT) whose
 * data is another real photo's image data.
 */
function apng(first: Uint8Array, second: Uint8Array, defaultIsFrame: boolean): Uint8Array {
  const a = pngChunks(first);
  const ihdr = a.find(([t]) => t === "IHDR")?.[1];
  if (!ihdr) throw new Error("no IHDR");
  const w = new DataView(ihdr.buffer, ihdr.byteOffset).getUint32(8);
  const h = new DataView(ihdr.buffer, ihdr.byteOffset).getUint32(12);
  const fctl = (seq: number) =>
    chunk("fcTL", new Uint8Array([...u32s(seq, w, h, 0, 0), 0, 1, 0, 10, 0, 0]));
  let seq = 0;
  const parts: Uint8Array[] = [first.subarray(0, 8)];
  for (const [type, c] of a) {
    if (type === "IEND") break;
    if (type === "IDAT" && seq === 0) {
      parts.push(chunk("acTL", u32s(2, 0)));
      if (defaultIsFrame) parts.push(fctl(seq++));
      else seq++;
    }
    parts.push(c);
  }
  parts.push(fctl(seq++));
  for (const [type, c] of pngChunks(second)) {
    if (type !== "IDAT") continue;
    parts.push(chunk("fdAT", new Uint8Array([...u32s(seq++), ...c.subarray(8, c.length - 4)])));
  }
  parts.push(chunk("IEND", new Uint8Array(0)));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe("one policy for animation: the first (default) frame, and the asset says so", () => {
  for (const defaultIsFrame of [true, false]) {
    it(`takes an APNG's default image (${defaultIsFrame ? "its first frame" : "outside the animation"}) and says it was animated`, async () => {
      const still = fixture("orient-1.png");
      const bytes = apng(still, fixture("orient-3.png"), defaultIsFrame);
      const r = await processImage(bytes);
      expect(r).toMatchObject({ format: "png", animated: true, width: 96, height: 72 });
      const img = (await decodeWebp(r.preview.bytes)).value;
      if (!img) throw new Error("no preview");
      expect(meanDiff(img, await decodePng(still))).toBeLessThan(6);
    });
  }

  it("takes an animated WebP's first frame, as libvips shows it, and says it was animated", async () => {
    const r = await processImage(fixture("animated-loop-3.webp"));
    expect(r).toMatchObject({ format: "webp", animated: true, width: 370, height: 285 });
    const img = (await decodeWebp(r.preview.bytes)).value;
    const ref = (await decodeWebp(fixture("animated-loop-3.first-frame.webp"))).value;
    if (!img || !ref) throw new Error("no image");
    expect(meanDiff(img, ref)).toBeLessThan(4);
  });

  it("draws a first WebP frame smaller than the canvas at its offset, transparent around it", async () => {
    // The real file with its first frame left out: its second (177x60 at 20,188, with an
    // alpha chunk) becomes the first.
    const src = fixture("animated-loop-3.webp");
    const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
    const at = (n: number) => {
      let pos = 12;
      for (let i = 0; i < n; i++)
        pos += 8 + dv.getUint32(pos + 4, true) + (dv.getUint32(pos + 4, true) & 1);
      return pos;
    };
    // VP8X, ANIM, then ANMF 1 (skipped) and ANMF 2 onwards.
    const head = src.subarray(0, at(2));
    const rest = src.subarray(at(3));
    const bytes = new Uint8Array(head.length + rest.length);
    bytes.set(head);
    bytes.set(rest, head.length);
    new DataView(bytes.buffer).setUint32(4, bytes.length - 8, true);
    const r = await processImage(bytes);
    expect(r).toMatchObject({ animated: true, width: 370, height: 285 });
    const img = (await decodeWebp(r.preview.bytes)).value;
    if (!img) throw new Error("no preview");
    const alphaAt = (x: number, y: number) => img.data[(y * img.width + x) * 4 + 3] ?? -1;
    expect(alphaAt(5, 5)).toBe(0);
    expect(alphaAt(360, 100)).toBe(0);
    let inside = 0;
    for (let y = 190; y < 246; y++)
      for (let x = 22; x < 195; x++) inside += alphaAt(x, y) > 0 ? 1 : 0;
    expect(inside).toBeGreaterThan(0);
  });
});
