// sha256 of decodeAvifFit's output (to compare builds): node hash.mjs av1.wasm FILE...
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { decodeAvifFit } from "../../../src/codecs/heif/avif";
import { probeHeif } from "../../../src/image/probe-heif";
import { fitLongEdge } from "../../../src/image/resize";

const [wasmPath, ...files] = process.argv.slice(2);
if (!wasmPath) throw new Error("usage: hash.mjs av1.wasm FILE...");
const mod = new WebAssembly.Module(readFileSync(wasmPath));
for (const file of files) {
  const bytes = new Uint8Array(readFileSync(file));
  const h = probeHeif(bytes, "avif");
  const r = decodeAvifFit(bytes, h.heif, mod, (w, hh) => fitLongEdge(w, hh, 1440), 1 << 30);
  const d = createHash("sha256").update(r.value.data).digest("hex").slice(0, 16);
  console.log(`${file}: ${r.value.width}x${r.value.height} ${d}`);
}
