#!/usr/bin/env node
// npm run fuzz -- --minutes N [--seed S]: the processor's structure-aware fuzzer
// (workers/processor/test/fuzz/) for N minutes in workerd (the processor's vitest project:
// real WASM decoders, the real memory meter and work budget). Each finding is written to
// workers/processor/test/fuzz/findings/ as a regression fixture (<name>.bin + <name>.json),
// replayed by every `npm test`; the run's figures (cases, worst peak/estimate, worst time
// per work unit) are printed at the end, for docs/benchmarks.md.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { minutes: { type: "string", default: "1" }, seed: { type: "string", default: "" } },
});
const minutes = Number(values.minutes);
if (!(minutes > 0)) throw new Error(`--minutes must be a positive number, not ${values.minutes}`);
const root = fileURLToPath(new URL("..", import.meta.url));
const findingsDir = fileURLToPath(
  new URL("../workers/processor/test/fuzz/findings/", import.meta.url),
);

const child = spawn(
  "npx",
  [
    "vitest",
    "run",
    "--project",
    "processor",
    "workers/processor/test/fuzz/fuzz.test.ts",
    "-t",
    "long run",
  ],
  {
    cwd: root,
    env: { ...process.env, FUZZ_MINUTES: String(minutes), FUZZ_SEED: values.seed },
    stdio: ["ignore", "pipe", "inherit"],
  },
);

let buffered = "";
let stats = null;
let findings = 0;
child.stdout.on("data", (chunk) => {
  buffered += chunk.toString();
  const lines = buffered.split("\n");
  buffered = lines.pop() ?? "";
  for (const line of lines) handle(line);
});

function handle(line) {
  const at = line.indexOf("FUZZ-");
  if (at < 0) {
    process.stdout.write(`${line}\n`);
    return;
  }
  const text = line.slice(at);
  if (text.startsWith("FUZZ-STATS ")) stats = JSON.parse(text.slice(11));
  if (!text.startsWith("FUZZ-FINDING ")) return;
  const f = JSON.parse(text.slice(13));
  const bytes = Buffer.from(f.file, "base64");
  const name = `finding-${createHash("sha256").update(bytes).digest("hex").slice(0, 12)}`;
  writeFileSync(`${findingsDir}${name}.bin`, bytes);
  // The outcome it must have once fixed: a refusal by default; correct it when fixing.
  const meta = { label: f.label, problem: f.problem, expected: "corrupt" };
  writeFileSync(`${findingsDir}${name}.json`, `${JSON.stringify(meta, null, 2)}\n`);
  findings += 1;
  console.log(`finding: ${name} (${f.label}): ${f.problem}`);
}

child.on("close", (code) => {
  if (buffered) handle(buffered);
  if (stats) {
    console.log(
      [
        `fuzz: ${stats.cases} cases in ${minutes} min (seed ${stats.seed}): ${stats.ready} ready, ${stats.refused} refused, ${stats.findings} findings`,
        `worst peak/estimate ${stats.worstPeakRatio.toFixed(4)}`,
        `worst probe time per work unit ${stats.worstUsPerUnit.toFixed(2)} µs (${stats.worstUsPerUnitCase}); all probes: ${stats.units} units in ${Math.round(stats.probeMs)} ms, ${((stats.probeMs * 1000) / Math.max(1, stats.units)).toFixed(3)} µs per unit`,
        `heaviest probe: ${stats.heaviest.units} units in ${Math.round(stats.heaviest.probeMs)} ms, ${((stats.heaviest.probeMs * 1000) / Math.max(1, stats.heaviest.units)).toFixed(3)} µs per unit (${stats.heaviest.label})`,
        `most work units in a case ${stats.maxUnits}; slowest case ${Math.round(stats.worstMs)} ms (${stats.worstMsCase})`,
      ].join("\n"),
    );
  } else console.log("fuzz: the run printed no statistics (see the output above)");
  if (findings) console.log(`${findings} findings written to ${findingsDir}`);
  process.exit(code ?? 1);
});
