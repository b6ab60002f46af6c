import { env } from "cloudflare:workers";
import { assets, filterOnly } from "@darkroom/shared/db";
import { and, eq, inArray, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";

/** SQLite's plan for assets selected by id under `filter`, as its detail lines. */
async function planOf(filter: SQL | undefined): Promise<string[]> {
  const q = drizzle(env.DB_0)
    .select()
    .from(assets)
    .where(and(inArray(assets.id, ["a", "b", "c"]), filter))
    .toSQL();
  const { results } = await env.DB_0.prepare(`EXPLAIN QUERY PLAN ${q.sql}`)
    .bind(...q.params)
    .all<{ detail: string }>();
  return results.map((r) => r.detail);
}

describe("a filter beside a primary-key IN", () => {
  it("leaves the lookup on the key, where a plain equality walks the user's library", async () => {
    const plain = and(eq(assets.userId, "u"), eq(assets.status, "ready"));
    expect((await planOf(plain)).join("\n")).toContain("assets_user_status");
    const filtered = and(filterOnly(assets.userId, "u"), filterOnly(assets.status, "ready"));
    expect(await planOf(filtered)).toEqual([
      expect.stringMatching(/^SEARCH assets USING INDEX sqlite_autoindex_assets_1 \(id=\?\)$/),
    ]);
  });
});
