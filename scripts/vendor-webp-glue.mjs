// Writes workers/processor/src/codecs/vendor/webp-enc-simd.js: @jsquash/webp's emscripten
// glue for its SIMD WebP encoder (Apache-2.0, LICENSE.jsquash-webp beside it) with one
// change. Its embind `std::string` argument (the RGBA image) is copied into WASM memory
// byte by byte in a JS loop, ~15 ms of CPU for a 1440x1080 preview in Node
// (`wasm/av1/bench-notes/job.ts`); `HEAPU8.set` copies the same bytes at once. The WASM is
// jSquash's, unchanged, and must stay the one this glue came with: run this again after
// upgrading @jsquash/webp (test/scripts/vendor-webp-glue.test.ts fails until then).
//   node scripts/vendor-webp-glue.mjs
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const root = path.resolve(import.meta.dirname, "..");
const pkg = path.join(root, "node_modules/@jsquash/webp");
const out = path.join(root, "workers/processor/src/codecs/vendor");
export const VENDORED_GLUE = path.join(out, "webp-enc-simd.js");

/** What the vendored glue should hold for the installed @jsquash/webp. */
export function vendoredGlue() {
  const { version } = JSON.parse(readFileSync(path.join(pkg, "package.json"), "utf8"));
  const glue = readFileSync(path.join(pkg, "codec/enc/webp_enc_simd.js"), "utf8");
  const slow = "for(var i=0;i<length;++i){HEAPU8[ptr+i]=value[i]}";
  const count = glue.split(slow).length - 1;
  if (count !== 1)
    throw new Error(`expected the byte-copy loop once in jSquash's glue, found ${count}`);
  const header = `// @jsquash/webp ${version}'s codec/enc/webp_enc_simd.js (Apache-2.0, LICENSE.jsquash-webp),
// written by scripts/vendor-webp-glue.mjs: its std::string copy loop replaced by HEAPU8.set.
// Do not edit; run the script again.
`;
  return { version, text: header + glue.replace(slow, "HEAPU8.set(value,ptr)") };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { version, text } = vendoredGlue();
  writeFileSync(VENDORED_GLUE, text);
  copyFileSync(path.join(pkg, "LICENSE"), path.join(out, "LICENSE.jsquash-webp"));
  console.log(`wrote ${VENDORED_GLUE} from @jsquash/webp ${version}`);
}
