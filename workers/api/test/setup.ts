import { env } from "cloudflare:workers";
import { migrateAll } from "../../../test/workerd/shards";

// The directory and both shards get the one migration set (DESIGN.md, "Sharding").
await migrateAll(env.TEST_MIGRATIONS);
