// Photos for the page benchmarks (bench:page): distinct JPEGs made cheaply from a few
// base pictures, written to a folder on disk (for an <input type=file>) or to the origin
// private file system of the page's origin (for the handle path a picker or a drop feeds).
import { writeFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";

/** 1.2-3.1 MP: a camera's photos scaled down as phones and cards hold them. */
export const CAMERA_SIZES = [
  [1280, 960],
  [1600, 1200],
  [2048, 1536],
];

/** 0.3-0.8 MP: quicker for the processor, where a run waits for every photo searchable. */
export const SMALL_SIZES = [
  [640, 480],
  [800, 600],
  [1024, 768],
];

/**
 * Distinct JPEGs of `sizes`, cheaply: a few base photos (smooth gradients with grain, so
 * they compress like photos rather than like flat colour), each copy made unique by a
 * JPEG comment segment (FF FE) right after the start-of-image marker.
 */
export async function makeBases(sizes = CAMERA_SIZES) {
  const bases = [];
  for (let b = 0; b < 6; b++) {
    const [w, h] = sizes[b % sizes.length];
    const px = Buffer.alloc(w * h * 3);
    let seed = 17 + b;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        seed = (seed * 1664525 + 1013904223) >>> 0;
        const grain = (seed >>> 27) - 16;
        const i = (y * w + x) * 3;
        px[i] = Math.max(0, Math.min(255, ((x * 255) / w + b * 40 + grain) | 0));
        px[i + 1] = Math.max(0, Math.min(255, ((y * 255) / h + grain) | 0));
        px[i + 2] = Math.max(0, Math.min(255, (((x + y) * 128) / (w + h) + 60 + grain) | 0));
      }
    }
    bases.push(
      await sharp(px, { raw: { width: w, height: h, channels: 3 } })
        .jpeg({ quality: 82 })
        .toBuffer(),
    );
  }
  return bases;
}

/** Photo `i`: base `i mod 6` with a comment segment naming `i`, so no two share a hash. */
export function photo(bases, i) {
  const base = bases[i % bases.length];
  const text = Buffer.from(`darkroom bench:page photo ${i}`);
  const com = Buffer.alloc(4);
  com.writeUInt16BE(0xfffe, 0);
  com.writeUInt16BE(text.length + 2, 2);
  return Buffer.concat([base.subarray(0, 2), com, text, base.subarray(2)]);
}

export async function makePhotos(dir, n) {
  const bases = await makeBases();
  const files = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const jpeg = photo(bases, i);
    const file = path.join(dir, `photo-${String(i).padStart(4, "0")}.jpg`);
    writeFileSync(file, jpeg);
    files.push(file);
    bytes += jpeg.length;
  }
  return { files, bytes };
}

/** The bytes of OPFS folder `dir` when it holds `n` files already (a kept profile), else null. */
export async function opfsBytes(context, url, dir, n) {
  const page = await context.newPage();
  await page.goto(`${url}/`);
  const bytes = await page.evaluate(
    async ({ dir, n }) => {
      const root = await navigator.storage.getDirectory();
      let d;
      try {
        d = await root.getDirectoryHandle(dir);
      } catch {
        return null;
      }
      let count = 0;
      let bytes = 0;
      for await (const h of d.values()) {
        count += 1;
        bytes += (await h.getFile()).size;
      }
      return count === n ? bytes : null;
    },
    { dir, n },
  );
  await page.close();
  return bytes;
}

/**
 * Photos into OPFS folder `dir`, from a dedicated worker of the origin (sync access
 * handles: createWritable's swap file made it ~0.5 s a file), then the page is closed.
 * The bases go over once; each photo is a base with a comment naming it.
 */
export async function writeOpfs(context, url, dir, n, sizes = CAMERA_SIZES) {
  const bases = await makeBases(sizes);
  const page = await context.newPage();
  await page.goto(`${url}/`);
  const bytes = await page.evaluate(
    async ({ dir, b64, n }) => {
      const src = `onmessage = async (e) => {
        const { dir, bases, n } = e.data;
        const root = await navigator.storage.getDirectory();
        const d = await root.getDirectoryHandle(dir, { create: true });
        let bytes = 0;
        for (let i = 0; i < n; i++) {
          const base = bases[i % bases.length];
          const text = new TextEncoder().encode("darkroom bench:page photo " + i);
          const jpeg = new Uint8Array(base.length + 4 + text.length);
          jpeg.set(base.subarray(0, 2), 0);
          jpeg.set([0xff, 0xfe, (text.length + 2) >> 8, (text.length + 2) & 0xff], 2);
          jpeg.set(text, 6);
          jpeg.set(base.subarray(2), 6 + text.length);
          const f = await d.getFileHandle("photo-" + String(i).padStart(5, "0") + ".jpg", { create: true });
          const h = await f.createSyncAccessHandle();
          h.truncate(0);
          h.write(jpeg, { at: 0 });
          h.close();
          bytes += jpeg.length;
        }
        postMessage(bytes);
      };`;
      const w = new Worker(URL.createObjectURL(new Blob([src], { type: "text/javascript" })));
      const bases = b64.map((s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0)));
      return await new Promise((resolve, reject) => {
        w.onmessage = (e) => resolve(e.data);
        w.onerror = (e) => reject(new Error(e.message));
        w.postMessage({ dir, bases, n });
      });
    },
    { dir, b64: bases.map((b) => b.toString("base64")), n },
  );
  await page.close();
  return bytes;
}
