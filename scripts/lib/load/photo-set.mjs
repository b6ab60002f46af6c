// The load test's photo set: N varied photos (sizes, formats, duplicates, corrupt files)
// generated from a seed, cached in os.tmpdir by count, seed and profile.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";

/** A small seeded PRNG: the same seed makes the same set. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Generates (or reuses, cached in os.tmpdir by count/seed/profile) the photo set.
 * @returns {Promise<{ dir: string, plan: Array<{ name: string, kind: "valid" | "duplicate" | "corrupt", of?: string, mp?: number }> }>}
 */
export async function generateSet({ files, seed = 1, small = false, log = () => {} }) {
  // v2: the generator below (strip noise, PNG at most 12 MP); a set cached by the first
  // generator is not reused.
  const dir = path.join(tmpdir(), `darkroom-load-v2-${files}-${seed}-${small ? "small" : "full"}`);
  const planFile = path.join(dir, ".plan.json");
  if (existsSync(planFile)) return { dir, plan: JSON.parse(readFileSync(planFile, "utf8")) };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.join(dir, "dups"), { recursive: true });
  const rand = mulberry32(seed);
  const [minMp, maxMp] = small ? [0.1, 1] : [0.5, 24];
  const nCorrupt = Math.max(1, Math.round(files * 0.02));
  const nDup = Math.max(1, Math.round(files * 0.05));
  const nValid = files - nCorrupt - nDup;
  const plan = [];
  const t0 = Date.now();
  const make = async (i) => {
    // Log-uniform size: most photos are a few MP, a few are 24.
    const mp = minMp * (maxMp / minMp) ** rand();
    const aspect = rand() < 0.5 ? 4 / 3 : 3 / 2;
    let w = Math.round(Math.sqrt(mp * 1e6 * aspect));
    let h = Math.round((mp * 1e6) / w);
    if (rand() < 0.3) [w, h] = [h, w];
    const r = rand();
    // PNG only up to 12 MP: a noisy 24 MP PNG is ~67 MB, over the api's 50 MB upload
    // limit (MAX_UPLOAD_BYTES), and PNG photos that large are rare anyway.
    const fmt = r < 0.6 || (r < 0.8 && mp > 12) ? "jpg" : r < 0.8 ? "png" : "webp";
    // A random 8x6 colour field upscaled smoothly, with light noise: compresses like a
    // photo (neither a flat colour nor pure noise). Cheap at full size (~0.9 s for a 24 MP
    // JPEG, was ~6.5 s): the field is interpolated at 1/8 size and enlarged by pixel
    // repetition (steps of a fraction of a level, invisible under the noise), and the
    // noise is one 64-row strip tiled down the image instead of a full-size gaussian
    // field. Rows repeat 64 rows apart, further back than DEFLATE's 32 KB window reaches
    // at any width here, so PNGs stay as big as photos; JPEG and WebP never look that far.
    const cells = Buffer.from(Array.from({ length: 8 * 6 * 3 }, () => Math.floor(rand() * 256)));
    const [sw, sh] = [Math.ceil(w / 8), Math.ceil(h / 8)];
    const field = await sharp(cells, { raw: { width: 8, height: 6, channels: 3 } })
      .resize(sw, sh, { kernel: "cubic" })
      .raw()
      .toBuffer();
    const strip = await sharp({
      create: {
        width: w,
        height: 64,
        channels: 3,
        background: "#808080",
        noise: { type: "gaussian", mean: 128, sigma: 6 },
      },
    })
      .raw()
      .toBuffer();
    let img = sharp(field, { raw: { width: sw, height: sh, channels: 3 } })
      .resize(w, h, { kernel: "nearest", fit: "fill" })
      .composite([
        { input: strip, raw: { width: w, height: 64, channels: 3 }, tile: true, blend: "overlay" },
      ])
      .removeAlpha();
    if (fmt === "jpg") img = img.jpeg({ quality: 85 });
    else if (fmt === "png") img = img.png({ compressionLevel: 6 });
    else img = img.webp({ quality: 80, effort: 1 });
    const name = `${String(Math.floor(i / 100)).padStart(2, "0")}/img-${String(i).padStart(5, "0")}.${fmt}`;
    mkdirSync(path.join(dir, path.dirname(name)), { recursive: true });
    await img.toFile(path.join(dir, name));
    plan[i] = { name, kind: "valid", mp: Math.round(mp * 10) / 10 };
  };
  let next = 0;
  const workers = Array.from({ length: Math.max(1, cpus().length) }, async () => {
    while (next < nValid) {
      const i = next++;
      await make(i);
      if (i % 100 === 99)
        log(`generated ${i + 1}/${nValid} (${Math.round((Date.now() - t0) / 1000)} s)`);
    }
  });
  await Promise.all(workers);
  for (let k = 0; k < nDup; k++) {
    const of = plan[Math.floor(rand() * nValid)].name;
    const name = `dups/copy-${k}${path.extname(of)}`;
    writeFileSync(path.join(dir, name), readFileSync(path.join(dir, of)));
    plan.push({ name, kind: "duplicate", of });
  }
  for (let k = 0; k < nCorrupt; k++) {
    // A real signature, then garbage: sniffed as JPEG/PNG, fails to decode.
    const png = k % 2 === 1;
    const head = png
      ? Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
      : Buffer.from([0xff, 0xd8, 0xff, 0xe0]);
    const name = `corrupt-${k}.${png ? "png" : "jpg"}`;
    writeFileSync(path.join(dir, name), Buffer.concat([head, randomBytes(20_000 + k)]));
    plan.push({ name, kind: "corrupt" });
  }
  writeFileSync(planFile, JSON.stringify(plan));
  const ms = Date.now() - t0;
  log(
    `generated ${files} files in ${Math.round(ms / 1000)} s (${Math.round(ms / nValid)} ms per photo) into ${dir}`,
  );
  return { dir, plan };
}
