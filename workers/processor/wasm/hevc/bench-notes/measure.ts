// Time and WASM memory of the HEIC decode path alone (container parse, tile-by-tile
// libde265, colour conversion, RowResizer to the 1440 preview), in Node:
//   npx esbuild --bundle --platform=node --format=esm \
//     workers/processor/wasm/hevc/bench-notes/measure.ts --outfile=/tmp/hevc-measure.mjs
//   node_modules/.bin/node /tmp/hevc-measure.mjs workers/processor/wasm/hevc/hevc.wasm FILE.heic...
import { readFileSync } from "node:fs";
import { parseHeif } from "../../../src/codecs/heif/container";
import { decodeHeicFit } from "../../../src/codecs/heif/heic";
import { fitLongEdge } from "../../../src/image/resize";

const [wasmPath, ...files] = process.argv.slice(2);
if (!wasmPath) throw new Error("usage: measure.mjs hevc.wasm FILE...");
const mod = new WebAssembly.Module(readFileSync(wasmPath));
const MB = 1024 * 1024;
for (const file of files) {
  const bytes = new Uint8Array(readFileSync(file));
  const times: number[] = [];
  let peak = 0;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const heif = parseHeif(bytes, "hvc1");
    const r = decodeHeicFit(bytes, heif, mod, (w, h) => fitLongEdge(w, h, 1440), 512 * MB);
    times.push(performance.now() - t0);
    peak = r.peakBytes;
  }
  times.sort((a, b) => a - b);
  console.log(
    `${file}: median ${times[1]?.toFixed(0)} ms, peak (WASM + resizer) ${(peak / MB).toFixed(1)} MB`,
  );
}
