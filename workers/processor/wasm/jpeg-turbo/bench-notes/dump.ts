// node dump.ts in.jpg denom out.rgba: decodes with the glue, writes raw RGBA, prints "W H".
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createJpegDecoder, type ScaleDenom } from "../../../src/codecs/jpeg-turbo.ts";

const [, , input, denom, output] = process.argv;
if (!input || !denom || !output) throw new Error("usage: node dump.ts in.jpg denom out.rgba");
const wasm = readFileSync(fileURLToPath(new URL("../jpeg-turbo.wasm", import.meta.url)));
const decoder = createJpegDecoder(new WebAssembly.Module(wasm));
const r = decoder.decode(new Uint8Array(readFileSync(input)), Number(denom) as ScaleDenom);
writeFileSync(output, r.data);
console.log(`${r.width} ${r.height}`);
