// Benchmark / smoke run of the jpeg-turbo glue in Node 22 (type stripping, no build step):
//   (from the repository root; Node 22 is the repo's own)
//   /usr/bin/python3 workers/processor/wasm/jpeg-turbo/bench-notes/make-images.py   # inputs into /tmp/jt-bench
//   node_modules/.bin/node workers/processor/wasm/jpeg-turbo/bench-notes/bench.ts [/tmp/jt-bench]
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  createJpegDecoder,
  JpegDecodeError,
  type ScaleDenom,
} from "../../../src/codecs/jpeg-turbo.ts";

const dir = process.argv[2] ?? "/tmp/jt-bench";
const fixtures = fileURLToPath(new URL("../../../../../test/fixtures/images", import.meta.url));
const wasmPath = fileURLToPath(new URL("../jpeg-turbo.wasm", import.meta.url));
const MB = 1024 * 1024;
const ms = (t: number) => `${t.toFixed(1)} ms`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? Number.NaN;
const best = (xs: number[]) => Math.min(...xs);
const read = (p: string) => new Uint8Array(readFileSync(p));

let t = performance.now();
const wasmBytes = readFileSync(wasmPath);
const mod = new WebAssembly.Module(wasmBytes);
console.log(`module ${wasmBytes.length} bytes, compile ${ms(performance.now() - t)}`);
const inst: number[] = [];
for (let i = 0; i < 200; i++) {
  t = performance.now();
  createJpegDecoder(mod);
  inst.push(performance.now() - t);
}
const sortedInst = [...inst].sort((a, b) => a - b);
console.log(
  `createJpegDecoder (new Instance + init): median ${(sortedInst[100] ?? Number.NaN).toFixed(3)} ms over 200, first ${(inst[0] ?? Number.NaN).toFixed(3)} ms`,
);

const RUNS = 5;
function bench(file: string, scale: ScaleDenom, opts = {}, label = "") {
  const bytes = read(file);
  const times: number[] = [];
  let mem = 0;
  let dims = "";
  let hdr = 0;
  for (let i = 0; i < RUNS; i++) {
    const d = createJpegDecoder(mod);
    let t0 = performance.now();
    const h = d.readHeader(bytes);
    hdr = performance.now() - t0;
    t0 = performance.now();
    const r = d.decode(bytes, scale, opts);
    times.push(performance.now() - t0);
    mem = d.memoryBytes();
    dims = `${h.width}x${h.height}${h.progressive ? " prog" : ""} -> ${r.width}x${r.height}`;
  }
  console.log(
    `${file.split("/").pop()} 1/${scale}${label}: ${dims}  decode best ${ms(best(times))} median ${ms(median(times))}  header ${ms(hdr)}  wasm memory ${(mem / MB).toFixed(1)} MB`,
  );
}

for (const name of ["12mp-baseline", "24mp-baseline", "12mp-progressive", "24mp-progressive"]) {
  for (const s of [1, 2, 4, 8] as const) bench(`${dir}/${name}.jpg`, s);
}
bench(`${dir}/24mp-baseline.jpg`, 1, { fastDct: true }, " IFAST");
bench(`${dir}/24mp-baseline.jpg`, 1, { fancyUpsampling: false }, " no-fancy");
bench(`${dir}/24mp-baseline.jpg`, 1, { fastDct: true, fancyUpsampling: false }, " IFAST+no-fancy");
bench(`${dir}/24mp-baseline.jpg`, 4, { fastDct: true, fancyUpsampling: false }, " IFAST+no-fancy");

function expectError(label: string, fn: () => unknown) {
  const t0 = performance.now();
  try {
    fn();
    console.log(`${label}: NO ERROR (unexpected)`);
  } catch (e) {
    if (!(e instanceof JpegDecodeError)) throw e;
    console.log(
      `${label}: ${e.code} "${e.message}" (libjpeg code ${e.libjpegCode}) in ${ms(performance.now() - t0)}`,
    );
  }
}
{
  const d = createJpegDecoder(mod);
  expectError("corrupt-header.jpg readHeader", () =>
    d.readHeader(read(`${fixtures}/corrupt-header.jpg`)),
  );
  expectError("corrupt-header.jpg decode 1/4", () =>
    d.decode(read(`${fixtures}/corrupt-header.jpg`), 4),
  );
  expectError("24mp-truncated.jpg decode 1/4", () =>
    d.decode(read(`${dir}/24mp-truncated.jpg`), 4),
  );
  expectError("12mp-truncated.jpg decode 1/1", () =>
    d.decode(read(`${dir}/12mp-truncated.jpg`), 1),
  );
  expectError("blackbug.png decode", () => d.decode(read(`${fixtures}/blackbug.png`), 1));
  const r = d.decode(read(`${fixtures}/concert.jpg`), 1);
  console.log(
    `same instance after 5 errors: concert.jpg ok ${r.width}x${r.height}, dead=${d.dead}`,
  );
  const limited = createJpegDecoder(mod, { maxMemoryBytes: 48 * MB });
  expectError("24mp-progressive 1/8 with maxMemoryBytes 48 MB", () =>
    limited.decode(read(`${dir}/24mp-progressive.jpg`), 8),
  );
  console.log(`  memory after refusal: ${(limited.memoryBytes() / MB).toFixed(1)} MB`);
  expectError("24mp-baseline 1/1 with maxMemoryBytes 48 MB", () =>
    limited.decode(read(`${dir}/24mp-baseline.jpg`), 1),
  );
  const ok = limited.decode(read(`${dir}/24mp-baseline.jpg`), 4);
  console.log(
    `  24mp-baseline 1/4 under the same limit: ${ok.width}x${ok.height}, memory ${(limited.memoryBytes() / MB).toFixed(1)} MB`,
  );
}
{
  const bytes = read(`${fixtures}/Channel_digital_image_CMYK_color.jpg`);
  const d = createJpegDecoder(mod);
  const h = d.readHeader(bytes);
  const r = d.decode(bytes, 1);
  const px = (x: number, y: number) =>
    Array.from(r.data.subarray((y * r.width + x) * 4, (y * r.width + x) * 4 + 3));
  console.log(
    `CMYK: ${h.colorSpace} adobe=${JSON.stringify(h.adobe)} -> RGBA ${r.width}x${r.height}; (10,10)=${px(10, 10)} (250,166)=${px(250, 166)} (499,332)=${px(499, 332)}`,
  );
}

// Decompression bombs (SOF dimensions patched up): clean "too-large", never a trap.
for (const [file, scale, limit] of [
  ["bomb-15k.jpg", 1, 0],
  ["bomb-prog-60k.jpg", 8, 0],
  ["bomb-prog-60k.jpg", 8, 64 * MB],
] as const) {
  const d = createJpegDecoder(mod, { maxMemoryBytes: limit });
  expectError(`${file} 1/${scale} maxMemoryBytes ${limit / MB} MB`, () =>
    d.decode(read(`${dir}/${file}`), scale),
  );
  console.log(`  wasm memory afterwards ${(d.memoryBytes() / MB).toFixed(1)} MB, dead=${d.dead}`);
}

// Mutation fuzz: flip random bytes of real JPEGs; count outcomes, make sure nothing escapes.
{
  const seeds = [
    read(`${fixtures}/concert.jpg`),
    read(`${fixtures}/Landscape_3.jpg`),
    read(`${fixtures}/Channel_digital_image_CMYK_color.jpg`),
  ];
  let seed = 12345;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const counts: Record<string, number> = {};
  let d = createJpegDecoder(mod);
  const N = 1500;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const src = seeds[i % seeds.length] ?? seeds[0] ?? new Uint8Array();
    const b = src.slice();
    const flips = 1 + Math.floor(rand() * 8);
    for (let k = 0; k < flips; k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
    const cut = rand() < 0.2 ? Math.floor(rand() * b.length) : b.length;
    let outcome = "ok";
    try {
      d.decode(b.subarray(0, cut), ([1, 2, 4, 8] as const)[i % 4] ?? 1);
    } catch (e) {
      if (!(e instanceof JpegDecodeError)) throw e;
      outcome = e.code;
      if (d.dead) d = createJpegDecoder(mod);
    }
    counts[outcome] = (counts[outcome] ?? 0) + 1;
  }
  console.log(
    `fuzz ${N} mutated inputs in ${ms(performance.now() - t0)}: ${JSON.stringify(counts)}; final instance memory ${(d.memoryBytes() / MB).toFixed(1)} MB`,
  );
}
