// sha256 of decodeAvifFit's output (to compare builds): node hash.mjs av1.wasm FILE...
// (HASH_FULL=1: at full size, every decoded pixel, no resize.)
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { decodeAvifFit } from "../../../src/codecs/heif/avif";
import { fitLongEdge } from "../../../src/image/resize";
import { probedAvifs } from "./avif-files";

const [wasmPath, ...files] = process.argv.slice(2);
if (!wasmPath) throw new Error("usage: hash.mjs av1.wasm FILE...");
const mod = new WebAssembly.Module(readFileSync(wasmPath));
for (const { file, bytes, h } of probedAvifs(files)) {
  const fit = process.env.HASH_FULL
    ? (w: number, hh: number) => ({ width: w, height: hh })
    : (w: number, hh: number) => fitLongEdge(w, hh, 1440);
  let r: ReturnType<typeof decodeAvifFit>;
  try {
    r = decodeAvifFit(bytes, h.heif, mod, fit, 1 << 30);
  } catch (e) {
    console.log(`${file}: ${e instanceof Error ? e.message : String(e)}`);
    continue;
  }
  const d = createHash("sha256").update(r.value.data).digest("hex").slice(0, 16);
  console.log(`${file}: ${r.value.width}x${r.value.height} ${d}`);
}
