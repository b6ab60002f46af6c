// Two builds of hevc.wasm on the same HEICs, interleaved (one decode each in turn, so both
// see the same machine load): median wall and CPU time (user + system of this process,
// which the machine's load stretches less) of the decode path (as measure.ts) and
// whether the previews are byte-identical. In Node:
//   npx esbuild --bundle --platform=node --format=esm \
//     workers/processor/wasm/hevc/bench-notes/ab.ts --outfile=/tmp/hevc-ab.mjs
//   node_modules/.bin/node /tmp/hevc-ab.mjs OLD.wasm NEW.wasm FILE.heic...
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseHeif } from "../../../src/codecs/heif/container";
import { decodeHeicFit } from "../../../src/codecs/heif/heic";
import { fitLongEdge } from "../../../src/image/resize";
import { WorkMeter } from "../../../src/image/work";

const [oldPath, newPath, ...files] = process.argv.slice(2);
if (!oldPath || !newPath) throw new Error("usage: hevc-ab.mjs OLD.wasm NEW.wasm FILE...");
const mods = [oldPath, newPath].map((p) => new WebAssembly.Module(readFileSync(p)));
const RUNS = Number(process.env.AB_RUNS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
for (const file of files) {
  const bytes = new Uint8Array(readFileSync(file));
  const times: number[][] = [[], []];
  const cpu: number[][] = [[], []];
  const hashes = ["", ""];
  for (let i = 0; i < RUNS; i++) {
    mods.forEach((mod, m) => {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const heif = parseHeif(bytes, "hvc1", bytes.length, WorkMeter.forFile(bytes.length));
      const r = decodeHeicFit(bytes, heif, mod, (w, h) => fitLongEdge(w, h, 1440), 512 * 2 ** 20);
      times[m]?.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu[m]?.push((c.user + c.system) / 1000);
      hashes[m] = createHash("sha256").update(r.value.data).digest("hex").slice(0, 16);
    });
  }
  const [a, b] = times.map(median) as [number, number];
  const [ca, cb] = cpu.map(median) as [number, number];
  console.log(
    `${file}: old ${a.toFixed(0)} ms (CPU ${ca.toFixed(0)}), new ${b.toFixed(0)} ms (CPU ${cb.toFixed(0)}): ${(a / b).toFixed(2)}x faster (CPU ${(ca / cb).toFixed(2)}x), previews ${hashes[0] === hashes[1] ? "identical" : `differ ${hashes[0]} ${hashes[1]}`}`,
  );
}
