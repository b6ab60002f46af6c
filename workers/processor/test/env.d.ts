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
    }
  }
}
