import { defineConfig } from "drizzle-kit";

// `drizzle-kit generate --name <what>` writes the SQL that `wrangler d1 migrations apply`
// runs; the schema in packages/shared is the one source of truth.
export default defineConfig({
  dialect: "sqlite",
  schema: "./packages/shared/src/db/schema.ts",
  out: "./migrations",
});
