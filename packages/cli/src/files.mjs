import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { MANIFEST_NAME } from "./manifest.mjs";

const TYPES = new Map([
  [".jpg", "image/jpeg"],
  [".jpeg", "image/jpeg"],
  [".png", "image/png"],
  [".webp", "image/webp"],
]);

/** The type the API is told; the processor sniffs the bytes anyway. */
export function typeOf(name) {
  return TYPES.get(path.extname(name).toLowerCase());
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
        const type = typeOf(e.name);
        if (!type) continue;
        const s = await stat(full);
        if (s.size === 0) continue;
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
