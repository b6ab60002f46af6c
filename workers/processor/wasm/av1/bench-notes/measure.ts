// Time and WASM memory of the AVIF decode path alone (container parse, sequence-header
// checks, tile-by-tile dav1d, colour conversion, RowResizer to the 1440 preview) against
// the estimate, in Node:
//   npx esbuild --bundle --platform=node --format=esm \
//     workers/processor/wasm/av1/bench-notes/measure.ts --outfile=/tmp/av1-measure.mjs
//   node /tmp/av1-measure.mjs workers/processor/wasm/av1/av1.wasm FILE.avif...
// (PLANAR=0: with the planar path off.)
import { readFileSync } from "node:fs";
import { decodeAvifFit } from "../../../src/codecs/heif/avif";
import { avifDecodeBytes } from "../../../src/codecs/heif/estimate";
import { probeHeif } from "../../../src/image/probe-heif";
import { fitLongEdge } from "../../../src/image/resize";

const [wasmPath, ...files] = process.argv.slice(2);
if (!wasmPath) throw new Error("usage: measure.mjs av1.wasm FILE...");
const mod = new WebAssembly.Module(readFileSync(wasmPath));
const MB = 1024 * 1024;
for (const file of files) {
  const bytes = new Uint8Array(readFileSync(file));
  const times: number[] = [];
  // CPU time as well: on a shared machine the wall clock mostly measures the other jobs.
  const cpu: number[] = [];
  let peak = 0;
  const h = probeHeif(bytes, "avif");
  const est = avifDecodeBytes(h, bytes.length, h.width);
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    // PLANAR=0: the RGBA path (colour conversion before the resize) on every image.
    const r = decodeAvifFit(bytes, h.heif, mod, (w, hh) => fitLongEdge(w, hh, 1440), 1024 * MB, {
      planar: process.env.PLANAR !== "0",
    });
    times.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    peak = r.peakBytes;
  }
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  console.log(
    `${file}: ${h.width}x${h.height} ${h.bitDepth}-bit, median ${times[1]?.toFixed(0)} ms (CPU ${cpu[1]?.toFixed(0)} ms), peak (WASM + resizer) ${(peak / MB).toFixed(1)} MB, estimate (WASM) ${(est / MB).toFixed(1)} MB`,
  );
}
