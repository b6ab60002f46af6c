// The structure-aware fuzzer (issue 20): valid files of every format the processor takes,
// mutated by their structure (./mutate.ts), and hostile files made from scratch
// (./synth.ts), each run through the probe and processImage under the real memory meter
// and work budget (./run-case.ts). Every case must end `ready` with its peak under its
// estimate, or in a typed refusal; a crash, a peak over the estimate or a lane
// reservation under the estimate fails it.
//
// `npm test` runs a small fixed-seed set. `npm run fuzz -- --minutes N` (scripts/fuzz.mjs)
// runs this file with FUZZ_MINUTES set: random seeds for N minutes, each finding printed
// as a FUZZ-FINDING line that the script writes to ./findings as a regression fixture;
// the fixtures there are replayed here on every run, against their expected outcome.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { fixture } from "../fixtures";
import { primaryParts } from "../heif-build";
import { type Rng, rng } from "../rng";
import { mutate } from "./mutate";
import { type CaseResult, runCase } from "./run-case";
import { type HeifParts, synthesize } from "./synth";

/** Small valid files of every format (the fixed-seed run decodes each mutant). */
const SEEDS = [
  "concert.jpg",
  "corrupt-header.jpg",
  "Flag_of_the_Netherlands-16bit.png",
  "16-bit-grey-alpha.png",
  "animated-loop-3.webp",
  "still.gif",
  "p3.avif",
  "10bit.avif",
  "orient-6.heic",
  "grid.heic",
  "alpha.heic",
];

const REFUSALS = ["unsupported_format", "corrupt", "too_large"];

function heifParts(): HeifParts {
  const hevc = primaryParts(fixture("orient-1.heic"), "hvc1");
  const av1 = primaryParts(fixture("p3.avif"), "av01");
  return {
    hvcC: hevc.box("hvcC"),
    hevcData: hevc.data,
    hevcSize: { width: hevc.width, height: hevc.height },
    av1C: av1.box("av1C"),
    av1Data: av1.data,
    av1Size: { width: av1.width, height: av1.height },
  };
}

/** Case `i` of a run: a mutant of a seed file, or a file made from scratch. */
async function makeCase(r: Rng, parts: HeifParts): Promise<{ label: string; file: Uint8Array }> {
  if (r.next() < 0.35) return synthesize(r, parts);
  const name = r.pick(SEEDS);
  return { label: `mutant of ${name}`, file: mutate(r, fixture(name)) };
}

/** Runs one case; a crash or a broken property becomes the message of the finding. */
async function check(
  file: Uint8Array,
): Promise<{ result: CaseResult | null; problem: string | null }> {
  try {
    const result = await runCase(file);
    if (result.outcome === "refused" && !REFUSALS.includes(result.code ?? ""))
      return { result, problem: `refused with an unknown code ${result.code}` };
    return { result, problem: null };
  } catch (err) {
    return {
      result: null,
      problem: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
    };
  }
}

const b64 = (b: Uint8Array) => {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
};

describe("the fuzzer's fixed-seed run", () => {
  it("ends every case ready under its estimate or in a typed refusal", {
    timeout: 300_000,
  }, async () => {
    const r = rng(20_2026);
    const parts = heifParts();
    const outcomes: Record<string, number> = {};
    for (let i = 0; i < 48; i++) {
      const { label, file } = await makeCase(r, parts);
      const { result, problem } = await check(file);
      expect(problem, `case ${i} (${label}, ${file.length} bytes)`).toBeNull();
      const key = result?.outcome === "ready" ? "ready" : (result?.code ?? "?");
      outcomes[key] = (outcomes[key] ?? 0) + 1;
    }
    // The run reaches the decoders, not only the probes: some cases get all the way.
    expect(outcomes.ready ?? 0).toBeGreaterThan(3);
    expect(outcomes.corrupt ?? 0).toBeGreaterThan(3);
  });
});

describe("the fuzzer's regression fixtures", () => {
  const findings = Object.entries(env.FUZZ_FINDINGS);
  it.skipIf(findings.length === 0)("replays every finding to its expected outcome", async () => {
    for (const [name, { file, expected }] of findings) {
      const bytes = Uint8Array.from(atob(file), (c) => c.charCodeAt(0));
      const { result, problem } = await check(bytes);
      expect(problem, name).toBeNull();
      expect(result?.outcome === "ready" ? "ready" : result?.code, name).toBe(expected);
    }
  });
});

const minutes = Number(env.FUZZ_MINUTES);
describe.skipIf(!(minutes > 0))("the fuzzer's long run (npm run fuzz)", () => {
  it("runs random cases for the minutes asked and reports each finding", {
    timeout: minutes * 60_000 + 120_000,
  }, async () => {
    const seed = Number(env.FUZZ_SEED) || Date.now() % 2 ** 31;
    const r = rng(seed);
    const parts = heifParts();
    const started = Date.now();
    const stats = {
      seed,
      cases: 0,
      ready: 0,
      refused: 0,
      findings: 0,
      worstPeakRatio: 0,
      worstUsPerUnit: 0,
      worstUsPerUnitCase: "",
      worstMs: 0,
      worstMsCase: "",
      maxUnits: 0,
      units: 0,
      probeMs: 0,
      heaviest: { units: 0, probeMs: 0, label: "" },
    };
    while (Date.now() - started < minutes * 60_000) {
      const { label, file } = await makeCase(r, parts);
      const { result, problem } = await check(file);
      stats.cases += 1;
      if (result?.outcome === "ready") {
        stats.ready += 1;
        stats.worstPeakRatio = Math.max(stats.worstPeakRatio, result.peak / result.estimate);
      } else if (result) stats.refused += 1;
      if (result) {
        stats.maxUnits = Math.max(stats.maxUnits, result.workUnits);
        stats.units += result.workUnits;
        // The probe that did the most work: its time per unit is the least blurred by the
        // clock's granularity and the timers around it.
        if (result.workUnits > stats.heaviest.units)
          stats.heaviest = { units: result.workUnits, probeMs: result.probeMs, label };
        stats.probeMs += result.probeMs;
        // Per unit only where the probe did enough work for the clock to tell.
        if (
          result.workUnits >= 1000 &&
          (result.probeMs * 1000) / result.workUnits > stats.worstUsPerUnit
        ) {
          stats.worstUsPerUnit = (result.probeMs * 1000) / result.workUnits;
          stats.worstUsPerUnitCase = `${label}, ${result.workUnits} units`;
        }
        if (result.ms > stats.worstMs) {
          stats.worstMs = result.ms;
          stats.worstMsCase = `${label}, ${file.length} bytes, ${result.outcome} ${result.code ?? ""}`;
        }
      }
      // A case that takes over 10 s is a finding too (a hang in the making), reported, never asserted on.
      const slow = result && result.ms > 10_000 ? `took ${Math.round(result.ms)} ms` : null;
      if (problem || slow) {
        stats.findings += 1;
        console.log(
          `FUZZ-FINDING ${JSON.stringify({ label, problem: problem ?? slow, file: b64(file) })}`,
        );
      }
    }
    console.log(`FUZZ-STATS ${JSON.stringify(stats)}`);
    expect(stats.findings).toBe(0);
  });
});
