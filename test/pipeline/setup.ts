import { env } from "cloudflare:workers";
import { migrateAll } from "../workerd/shards";

// The directory and both shards get the one migration set (DESIGN.md, "Sharding").
await migrateAll(env.TEST_MIGRATIONS);
