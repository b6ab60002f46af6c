import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, readdir, stat } from "node:fs/promises";
import path from "node:path";
import { SNIFF_BYTES, sniffImageType } from "@darkroom/shared/image-types";
import { MANIFEST_NAME } from "./manifest.mjs";

/**
 * The type the API is told, from the file's first bytes (the same rule as the page and
 * the processor): a phone's `IMG_0001.HEIC` is found whatever its extension's case, and a
 * `.jpg` that is not a JPEG is not sent. Null when it is not a photo Darkroom takes.
 * @param {string} abs
 * @returns {Promise<string | null>}
 */
export async function sniffFile(abs) {
  const fh = await open(abs, "r");
  try {
    const head = new Uint8Array(SNIFF_BYTES);
    const { bytesRead } = await fh.read(head, 0, SNIFF_BYTES, 0);
    return sniffImageType(head.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

/**
 * Every photo under `dir` (recursive, sorted, hidden files and the manifest skipped).
 * @returns {Promise<Array<{ path: string, abs: string, size: number, mtimeMs: number, type: string }>>}
 */
export async function scan(dir) {
  const out = [];
  const walk = async (abs) => {
    const entries = await readdir(abs, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith(".") || e.name === MANIFEST_NAME) continue;
      const full = path.join(abs, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile()) {
        const s = await stat(full);
        if (s.size === 0) continue;
        const type = await sniffFile(full);
        if (!type) continue;
        out.push({
          path: path.relative(dir, full).split(path.sep).join("/"),
          abs: full,
          size: s.size,
          mtimeMs: Math.round(s.mtimeMs),
          type,
        });
      }
    }
  };
  await walk(path.resolve(dir));
  return out;
}

export function sha256File(abs) {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(abs)
      .on("data", (c) => h.update(c))
      .on("error", reject)
      .on("end", () => resolve(h.digest("hex")));
  });
}
