import type { D1Migration } from "cloudflare:test";

// The env of the whole pipeline in one workerd (vitest.config.ts): the processor's
// bindings and the embedder's, as their worker-configuration.d.ts declare them, plus what
// exists only in tests. Declared here rather than by including both generated files, whose
// `mainModule`s differ.
interface PipelineBindings {
  BUCKET: R2Bucket;
  DIRECTORY: D1Database;
  DB_0: D1Database;
  DB_1: D1Database;
  DB_SHARDS: string;
  METRICS?: AnalyticsEngineDataset;
  EMBED_QUEUE: Queue;
  UPLOADS_QUEUE: Queue;
  IMAGES: ImagesBinding;
  USER_HUB: DurableObjectNamespace;
  AI_BREAKER: DurableObjectNamespace;
  AI?: Ai;
  /** The api's, read by the UserHub class that worker.ts exports. */
  RATE_LIMIT_CAPACITY: string;
  RATE_LIMIT_REFILL_PER_MINUTE: string;
}

declare global {
  interface Env extends PipelineBindings {}
  namespace Cloudflare {
    interface Env extends PipelineBindings {
      TEST_MIGRATIONS: D1Migration[];
      /** test/fixtures/images/concert.jpg, base64. */
      PHOTO: string;
    }
  }
}
