#!/usr/bin/env node
// `npx darkroom …` from the repo. Plain ESM JavaScript (JSDoc types): runs on Node 22
// without a build step.
import { main } from "../src/cli.mjs";

const controller = new AbortController();
let interrupted = false;
process.on("SIGINT", () => {
  // First Ctrl-C: finish the files in flight (the manifest notes each), then stop.
  // Second: now; the manifest is append-only, so nothing is corrupted.
  if (interrupted) process.exit(130);
  interrupted = true;
  process.stderr.write(
    "\ndarkroom: stopping after the files in flight (Ctrl-C again to quit now)\n",
  );
  controller.abort();
});
const code = await main(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  signal: controller.signal,
});
process.exitCode = code;
