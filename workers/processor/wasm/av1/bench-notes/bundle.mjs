// Bundles a bench note for Node, each `.wasm` import becoming the WebAssembly.Module of that
// file (as workerd's CompiledWasm rule gives it):
//   node workers/processor/wasm/av1/bench-notes/bundle.mjs job.ts /tmp/av1-job.mjs
import { createRequire } from "node:module";
import path from "node:path";
import { build } from "esbuild";

const [entry, outfile] = process.argv.slice(2);
if (!entry || !outfile) throw new Error("usage: bundle.mjs NOTE.ts OUT.mjs");
await build({
  entryPoints: [path.resolve(import.meta.dirname, entry)],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  external: ["sharp"],
  logLevel: "warning",
  plugins: [
    {
      name: "wasm-module",
      setup(b) {
        b.onResolve({ filter: /\.wasm$/ }, (args) => ({
          path: args.path.startsWith(".")
            ? path.resolve(args.resolveDir, args.path)
            : createRequire(path.join(args.resolveDir, "x.js")).resolve(args.path),
          namespace: "wasm-module",
        }));
        b.onLoad({ filter: /.*/, namespace: "wasm-module" }, (args) => ({
          contents: `import { readFileSync } from "node:fs";\nexport default new WebAssembly.Module(readFileSync(${JSON.stringify(args.path)}));`,
          loader: "js",
        }));
      },
    },
  ],
});
