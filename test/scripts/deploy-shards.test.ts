import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without declarations
import { readConfigs } from "../../scripts/lib/deploy-config.mjs";
import {
  migrationSkew,
  pendingMigrations,
  productionDatabases,
  productionIndexes,
  productionShards,
  shardProblems,
  withDatabaseId,
  // @ts-expect-error plain ESM script without declarations
} from "../../scripts/lib/deploy-shards.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));

type Binding = { binding: string; database_name?: string; index_name?: string };
type Prod = { vars: Record<string, string>; d1_databases: Binding[]; vectorize?: Binding[] };
type Config = { name: string; config: string; toml: { env: { production: Prod } } };

const configs = (): Config[] => readConfigs(root);
const prod = (cs: Config[], name: string): Prod => {
  const c = cs.find((x) => x.name === name);
  if (!c) throw new Error(`no ${name}`);
  return c.toml.env.production;
};

describe("the production shard layout", () => {
  it("is N databases and N × kinds indexes from the one setting, the same in every worker", () => {
    const cs = configs();
    const n = productionShards(cs);
    expect(n).toBe(Number(prod(cs, "api").vars.DB_SHARDS));
    for (const name of ["api", "processor", "embedder"]) {
      expect(Number(prod(cs, name).vars.DB_SHARDS)).toBe(n);
    }
    expect(productionDatabases(cs).map((d: Binding) => d.binding)).toEqual([
      "DIRECTORY",
      ...Array.from({ length: n }, (_, i) => `DB_${i}`),
    ]);
    expect(productionIndexes(cs)).toHaveLength(2 * n);
    expect(shardProblems(cs)).toEqual([]);
  });

  it("refuses a worker whose shard count differs, or a shard binding missing or left over", () => {
    const cs = configs();
    prod(cs, "processor").vars.DB_SHARDS = "3";
    expect(shardProblems(cs)).toContainEqual(
      expect.stringMatching(
        /^workers\/processor\/wrangler\.toml .*DB_SHARDS = 3, but the api's is/,
      ),
    );

    const missing = configs();
    const embedder = prod(missing, "embedder");
    embedder.d1_databases = embedder.d1_databases.filter((d) => d.binding !== "DB_1");
    embedder.vectorize = (embedder.vectorize ?? []).filter((v) => v.binding !== "VECTORS_TEXT_0");
    expect(shardProblems(missing)).toEqual([
      expect.stringContaining("embedder/wrangler.toml [env.production] has no d1_databases DB_1"),
      expect.stringContaining(
        "embedder/wrangler.toml [env.production] has no vectorize VECTORS_TEXT_0",
      ),
    ]);
  });

  it("refuses a shard binding left over after DB_SHARDS shrinks, of either kind", () => {
    const cs = configs();
    const n = productionShards(cs);
    for (const name of ["api", "processor", "embedder"])
      prod(cs, name).vars.DB_SHARDS = String(n - 1);
    const problems: string[] = shardProblems(cs);
    expect(problems).toContainEqual(
      `wrangler.toml [env.production] d1_databases DB_${n - 1} is not one of DIRECTORY, DB_0 … DB_${n - 2}`,
    );
    expect(problems).toContainEqual(
      `workers/embedder/wrangler.toml [env.production] vectorize VECTORS_TEXT_${n - 1} is not a shard's index (VECTORS_<KIND>_0 … _${n - 2})`,
    );
    expect(problems.filter((p) => p.includes("has no"))).toEqual([]);
  });

  it("asks for the new shards' bindings in every worker when DB_SHARDS grows", () => {
    const cs = configs();
    const n = productionShards(cs);
    for (const name of ["api", "processor", "embedder"])
      prod(cs, name).vars.DB_SHARDS = String(n + 1);
    const problems: string[] = shardProblems(cs);
    for (const file of [
      "wrangler.toml",
      "workers/processor/wrangler.toml",
      "workers/embedder/wrangler.toml",
    ]) {
      expect(problems).toContainEqual(
        expect.stringMatching(new RegExp(`^${file} .*d1_databases DB_${n} `)),
      );
    }
    expect(problems).toContainEqual(expect.stringContaining(`vectorize VECTORS_DESCRIPTOR_${n} `));
    expect(problems.some((p) => p.startsWith("workers/processor") && p.includes("vectorize"))).toBe(
      false,
    );
  });

  it("refuses two shards on one database, and a binding naming another database elsewhere", () => {
    const cs = configs();
    for (const name of ["api", "processor", "embedder"]) {
      const dbs = prod(cs, name).d1_databases;
      const [zero, one] = [
        dbs.find((d) => d.binding === "DB_0"),
        dbs.find((d) => d.binding === "DB_1"),
      ];
      if (zero && one) one.database_name = zero.database_name;
    }
    expect(shardProblems(cs)).toContainEqual(expect.stringContaining("share the d1 database_name"));

    const other = configs();
    const d = prod(other, "embedder").d1_databases.find((x) => x.binding === "DB_0");
    if (d) d.database_name = "somewhere-else";
    expect(shardProblems(other)).toContainEqual(
      expect.stringContaining(
        "embedder/wrangler.toml [env.production] d1_databases DB_0 names another database",
      ),
    );
  });
});

describe("migrations across shards", () => {
  it("reads the migrations wrangler has not applied yet from its list output", () => {
    const table = [
      "Migrations to be applied:",
      "┌──────────────────────────┐",
      "│ Name                     │",
      "├──────────────────────────┤",
      "│ 0008_user_shards.sql     │",
      "│ 0009_later.sql           │",
      "└──────────────────────────┘",
    ].join("\n");
    expect(pendingMigrations(table)).toEqual(["0008_user_shards.sql", "0009_later.sql"]);
    expect(pendingMigrations("✅ No migrations to apply!")).toEqual([]);
  });

  it("refuses databases at different migrations, naming which lack what", () => {
    expect(migrationSkew({ "darkroom-directory": [], "darkroom-shard-0": [] })).toEqual([]);
    expect(
      migrationSkew({
        "darkroom-directory": [],
        "darkroom-shard-0": ["0008_user_shards.sql"],
        "darkroom-shard-1": [],
      }),
    ).toEqual([
      "darkroom-directory, darkroom-shard-1: every migration applied",
      "darkroom-shard-0: not applied 0008_user_shards.sql",
    ]);
  });
});

describe("--provision", () => {
  it("writes a new database's id into its binding's placeholder and nowhere else", () => {
    const text = readFileSync(`${root}workers/processor/wrangler.toml`, "utf8");
    const id = "2f6c0b52-5d3e-4c55-9a51-0c7c7e0a1b2c";
    const written = withDatabaseId(text, "DB_1", id);
    expect(written.split(id)).toHaveLength(2);
    const block = written.slice(
      written.indexOf('binding = "DB_1"', written.indexOf("[env.production]")),
    );
    expect(block.slice(0, block.indexOf("[["))).toContain(`database_id = "${id}"`);
    expect(withDatabaseId(written, "DB_1", "another")).toBe(written);
  });
});
