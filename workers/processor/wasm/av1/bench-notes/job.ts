// CPU time of each stage of processImage's job for an AVIF, in Node (the bench's workerd
// job, stage by stage): decode to the preview, the thumb from it, the two WebP encodes,
// and the same two encodes by native libwebp (sharp, one thread) for comparison.
//   node workers/processor/wasm/av1/bench-notes/bundle.mjs job.ts .cache/av1-job.mjs
//   node .cache/av1-job.mjs FILE.avif...
// (bundled inside the repository: it imports sharp from node_modules; PLANAR=0 turns the
// planar path off, AV1_WASM=path takes another build of av1.wasm)
import { readFileSync } from "node:fs";
import sharp from "sharp";
import { decodeAvifFit } from "../../../src/codecs/heif/avif";
import { encodeWebp } from "../../../src/codecs/webp";
import { probeHeif } from "../../../src/image/probe-heif";
import { downscale, fitLongEdge } from "../../../src/image/resize";
import {
  PREVIEW_EDGE,
  PREVIEW_QUALITY,
  THUMB_EDGE,
  THUMB_QUALITY,
  WEBP_EFFORT,
} from "../../../src/image/variants";
import av1Module from "../av1.wasm";

sharp.concurrency(1);
// AV1_WASM=path: another build of av1.wasm (to compare builds in one bundle).
const av1 = process.env.AV1_WASM
  ? new WebAssembly.Module(readFileSync(process.env.AV1_WASM))
  : av1Module;
const MB = 1024 * 1024;
const RUNS = Number(process.env.RUNS ?? 5);

const cpu = async <T>(f: () => T | Promise<T>): Promise<[T, number]> => {
  const c0 = process.cpuUsage();
  const v = await f();
  const c = process.cpuUsage(c0);
  return [v, (c.user + c.system) / 1000];
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

for (const file of process.argv.slice(2)) {
  const bytes = new Uint8Array(readFileSync(file));
  const t: Record<string, number[]> = {};
  const add = (k: string, v: number) => {
    t[k] ??= [];
    t[k].push(v);
  };
  for (let i = 0; i < RUNS + 1; i++) {
    const [h, probeMs] = await cpu(() => probeHeif(bytes, "avif"));
    const [dec, decMs] = await cpu(() =>
      decodeAvifFit(bytes, h.heif, av1, (w, hh) => fitLongEdge(w, hh, PREVIEW_EDGE), 1024 * MB, {
        planar: process.env.PLANAR !== "0",
      }),
    );
    const preview = dec.value;
    const [thumb, thumbMs] = await cpu(() => downscale(preview, THUMB_EDGE));
    const [, encP] = await cpu(() => encodeWebp(preview, PREVIEW_QUALITY, WEBP_EFFORT));
    const [, encT] = await cpu(() => encodeWebp(thumb, THUMB_QUALITY, WEBP_EFFORT));
    const raw = (img: typeof preview) => ({
      raw: { width: img.width, height: img.height, channels: 4 as const },
    });
    const [, nP] = await cpu(() =>
      sharp(preview.data, raw(preview))
        .webp({ quality: PREVIEW_QUALITY, effort: WEBP_EFFORT })
        .toBuffer(),
    );
    const [, nT] = await cpu(() =>
      sharp(thumb.data, raw(thumb))
        .webp({ quality: THUMB_QUALITY, effort: WEBP_EFFORT })
        .toBuffer(),
    );
    if (i === 0) continue; // warm-up (V8's tier-up of the modules)
    add("probe", probeMs);
    add("decode", decMs);
    add("thumb", thumbMs);
    add("webp preview", encP);
    add("webp thumb", encT);
    add("native webp preview", nP);
    add("native webp thumb", nT);
  }
  const parts = Object.entries(t).map(([k, v]) => `${k} ${median(v).toFixed(0)}`);
  console.log(`${file}: CPU ms, median of ${RUNS}: ${parts.join(", ")}`);
}
