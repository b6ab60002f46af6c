// `npm run build:web`: the browser app into public/ (served by the api worker as static
// assets). esbuild bundles app.js and hash-worker.js, minified, no source from outside
// at run time. Fails when the page's JavaScript and CSS together exceed 150 KB gzipped.
// The output is build-generated and gitignored; dev, deploy and CI run this first.
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const here = fileURLToPath(new URL(".", import.meta.url));
const out = path.join(here, "..", "public");
const LIMIT = 150 * 1024;

mkdirSync(out, { recursive: true });
await build({
  entryPoints: {
    app: path.join(here, "src/main.tsx"),
    "hash-worker": path.join(here, "src/hash-worker.ts"),
  },
  outdir: out,
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  jsx: "automatic",
  jsxImportSource: "preact",
  legalComments: "none",
  logLevel: "warning",
});
copyFileSync(path.join(here, "src/app.css"), path.join(out, "app.css"));
copyFileSync(path.join(here, "index.html"), path.join(out, "index.html"));

let total = 0;
const parts = [];
for (const f of ["app.js", "hash-worker.js", "app.css", "index.html"]) {
  const bytes = readFileSync(path.join(out, f));
  const gz = gzipSync(bytes, { level: 9 }).length;
  total += gz;
  parts.push(`${f} ${(bytes.length / 1024).toFixed(1)} KB (${(gz / 1024).toFixed(1)} KB gzip)`);
}
console.log(`build:web: ${parts.join(", ")}; total ${(total / 1024).toFixed(1)} KB gzip`);
if (total > LIMIT) {
  console.error(`build:web: over the budget of ${LIMIT / 1024} KB gzip`);
  process.exit(1);
}
