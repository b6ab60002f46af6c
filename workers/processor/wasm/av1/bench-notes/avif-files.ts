// The AVIF files named on a bench note's command line, read and probed; a file the probe
// refuses is reported and skipped, so one odd file does not end a run over a folder.
import { readFileSync } from "node:fs";
import { probeHeif } from "../../../src/image/probe-heif";

export type ProbedAvif = { file: string; bytes: Uint8Array; h: ReturnType<typeof probeHeif> };

export function* probedAvifs(files: readonly string[]): Generator<ProbedAvif> {
  for (const file of files) {
    const bytes = new Uint8Array(readFileSync(file));
    try {
      yield { file, bytes, h: probeHeif(bytes, "avif") };
    } catch (e) {
      console.log(`${file}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
