// Time and WASM memory of the HEIC decode path alone (container parse, tile-by-tile
// libde265, colour conversion, RowResizer to the 1440 preview), in Node:
//   npx esbuild --bundle --platform=node --format=esm \
//     workers/processor/wasm/hevc/bench-notes/measure.ts --outfile=/tmp/hevc-measure.mjs
//   node_modules/.bin/node /tmp/hevc-measure.mjs workers/processor/wasm/hevc/hevc.wasm FILE.heic...
import { readFileSync } from "node:fs";
import { parseHeif } from "../../../src/codecs/heif/container";
import { heicDecodeBytes } from "../../../src/codecs/heif/estimate";
import { decodeHeicFit } from "../../../src/codecs/heif/heic";
import { probeHeif } from "../../../src/image/probe-heif";
import { fitLongEdge } from "../../../src/image/resize";
import { rowResizerBytes } from "../../../src/image/row-resize";
import { WorkMeter } from "../../../src/image/work";

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
    const heif = parseHeif(bytes, "hvc1", bytes.length, WorkMeter.forFile(bytes.length));
    const r = decodeHeicFit(bytes, heif, mod, (w, h) => fitLongEdge(w, h, 1440), 512 * MB);
    times.push(performance.now() - t0);
    peak = r.peakBytes;
  }
  times.sort((a, b) => a - b);
  const probe = probeHeif(bytes, "heic");
  const est = heicDecodeBytes(probe, bytes.length, probe.width);
  const out = fitLongEdge(probe.width, probe.height, 1440);
  const wasm = peak - rowResizerBytes(probe.width, probe.height, out.width, out.height);
  console.log(
    `${file}: median ${times[1]?.toFixed(0)} ms, peak (WASM + resizer) ${(peak / MB).toFixed(1)} MB, WASM ${(wasm / MB).toFixed(1)} MB, WASM estimate ${(est / MB).toFixed(1)} MB`,
  );
}
