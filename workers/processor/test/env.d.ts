import type { D1Migration } from "cloudflare:test";

// Bindings that exist only in tests (see vitest.config.ts). The RATE_LIMIT_* vars are
// the api's, read by the UserHub class that test/worker.ts exports.
declare global {
  interface Env {
    RATE_LIMIT_CAPACITY: string;
    RATE_LIMIT_REFILL_PER_MINUTE: string;
  }
  namespace Cloudflare {
    interface Env {
      RATE_LIMIT_CAPACITY: string;
      RATE_LIMIT_REFILL_PER_MINUTE: string;
      TEST_MIGRATIONS: D1Migration[];
      /** test/fixtures/images, file name → base64. */
      FIXTURES: Record<string, string>;
      /** test/fuzz/findings: fixture name → its bytes (base64) and expected outcome. */
      FUZZ_FINDINGS: Record<string, { file: string; expected: string }>;
      /** npm run fuzz: minutes of the long run ("0": skipped) and its seed. */
      FUZZ_MINUTES: string;
      FUZZ_SEED: string;
    }
  }
}
