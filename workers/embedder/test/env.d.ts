import type { D1Migration } from "cloudflare:test";
import type { AiTestDoubleEntrypoint } from "./ai-test-double-entrypoint";

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
      /** test/fixtures/*.webp, base64 by file name. */
      TEST_FIXTURES: Record<string, string>;
      // Service bindings to AiTestDoubleEntrypoint (a TEST DOUBLE of Workers AI), one
      // per behaviour; tests pass `aiBinding(env.AI_TEST_DOUBLE…)` as `AI`.
      AI_TEST_DOUBLE: Service<AiTestDoubleEntrypoint>;
      AI_TEST_DOUBLE_RATE_LIMITED: Service<AiTestDoubleEntrypoint>;
      AI_TEST_DOUBLE_UPSTREAM_ERROR: Service<AiTestDoubleEntrypoint>;
      AI_TEST_DOUBLE_REJECTS_IMAGE: Service<AiTestDoubleEntrypoint>;
      AI_TEST_DOUBLE_CAPTION_MODEL_REMOVED: Service<AiTestDoubleEntrypoint>;
      AI_TEST_DOUBLE_DAILY_ALLOCATION_EXHAUSTED: Service<AiTestDoubleEntrypoint>;
      AI_TEST_DOUBLE_SAYS_NOTHING: Service<AiTestDoubleEntrypoint>;
    }
  }
}
