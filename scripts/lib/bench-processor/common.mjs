// What every part of `npm run bench:processor` shares: its knobs, the variants it makes
// (the same as workers/processor/src/image/variants.ts), and small number helpers.
import path from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";

export const RUNS = Number(process.env.BENCH_RUNS ?? 7);
export const FLAT = Number(process.env.BENCH_FLAT ?? 200);
export const root = fileURLToPath(new URL("../../..", import.meta.url));
export const fixturesDir = path.resolve(root, "test/fixtures/images");
export const SOURCE_PHOTO = "2569067123_aca715a2ee_o.jpg";
export const MB = 1024 * 1024;
/** The production budget (PROCESSOR_MEMORY_BUDGET_MB, default in workers/processor/src/config.ts); lifted only to measure. */
export const BUDGET_MB = 100;
export const LIFTED_BUDGET_MB = 1024;

// Same variants as workers/processor/src/image/pipeline.ts.
export const PREVIEW = { edge: 1440, quality: 80 };
export const THUMB = { edge: 320, quality: 75 };
export const EFFORT = 4;

sharp.concurrency(1);
// No libvips operation cache: repeated runs on the same input must do the work again.
sharp.cache(false);

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? Number.NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
export const mb = (bytes) => Number((bytes / MB).toFixed(1));
export const kb = (bytes) => Math.round(bytes / 1024);
