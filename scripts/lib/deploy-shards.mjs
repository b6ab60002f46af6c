// The shards of a production deployment, from its one setting (DESIGN.md, "Sharding"):
// `DB_SHARDS` in [env.production.vars] of the three wrangler.toml files names N; each
// worker binds the directory (DIRECTORY) and DB_0 … DB_{N-1}, and the workers that search
// (api, embedder) bind one Vectorize index per kind per shard (VECTORS_<KIND>_<n>).
// `npm run deploy` checks that layout, `--provision` creates what is missing on the
// account (databases, indexes and their `uid` metadata index) and writes the new ids into
// the three files, and every deploy migrates every database and then checks that all are
// at the same migration (--check compares them first when the account is reachable).

/** The Vectorize kinds with their dimensions (packages/shared/src/search/constants.ts). */
export const VECTOR_KINDS = [
  { kind: "descriptor", dimensions: 128 },
  { kind: "text", dimensions: 768 },
];
/** The workers whose code queries or writes vectors. */
const SEARCHING = new Set(["api", "embedder"]);

const prodOf = (c) => c.toml.env?.production ?? {};

/** `DB_SHARDS` of one worker's production vars (a number, or NaN when unset or bad). */
function shardSetting(c) {
  const raw = prodOf(c).vars?.DB_SHARDS;
  const n =
    typeof raw === "number" ? raw : /^\d+$/.test(String(raw ?? "").trim()) ? Number(raw) : NaN;
  return Number.isInteger(n) && n >= 1 ? n : Number.NaN;
}

/** The production shard count (the api's `DB_SHARDS`). */
export function productionShards(configs) {
  const api = configs.find((c) => c.name === "api");
  return api ? shardSetting(api) : Number.NaN;
}

/** Every database production binds, directory first: `{ binding, name }` from the api's config. */
export function productionDatabases(configs) {
  const n = productionShards(configs);
  const api = configs.find((c) => c.name === "api");
  const bound = new Map(
    (prodOf(api ?? { toml: {} }).d1_databases ?? []).map((d) => [d.binding, d]),
  );
  const bindings = ["DIRECTORY", ...Array.from({ length: n || 0 }, (_, i) => `DB_${i}`)];
  return bindings
    .map((binding) => ({ binding, name: bound.get(binding)?.database_name }))
    .filter((d) => d.name);
}

/** Every Vectorize index production binds: `{ binding, name, kind, dimensions }`. */
export function productionIndexes(configs) {
  const n = productionShards(configs) || 0;
  const api = configs.find((c) => c.name === "api");
  const bound = new Map((prodOf(api ?? { toml: {} }).vectorize ?? []).map((v) => [v.binding, v]));
  return Array.from({ length: n }, (_, i) =>
    VECTOR_KINDS.map(({ kind, dimensions }) => {
      const binding = `VECTORS_${kind.toUpperCase()}_${i}`;
      return { binding, name: bound.get(binding)?.index_name, kind, dimensions };
    }),
  )
    .flat()
    .filter((v) => v.name);
}

/**
 * What is wrong with the shard layout: a `DB_SHARDS` that differs between the workers or
 * is not a whole number, a binding missing or left over, a binding naming another
 * database (or id) in another worker, two bindings on one database or index.
 */
export function shardProblems(configs) {
  const problems = [];
  const n = productionShards(configs);
  for (const c of configs) {
    const own = shardSetting(c);
    if (!Number.isInteger(own)) {
      problems.push(
        `${c.config} [env.production.vars] DB_SHARDS must be a whole number of at least 1`,
      );
    } else if (own !== n) {
      problems.push(`${c.config} [env.production.vars] DB_SHARDS = ${own}, but the api's is ${n}`);
    }
  }
  if (!Number.isInteger(n)) return problems;
  const want = ["DIRECTORY", ...Array.from({ length: n }, (_, i) => `DB_${i}`)];
  const seen = new Map();
  for (const c of configs) {
    const dbs = prodOf(c).d1_databases ?? [];
    problems.push(
      ...bindingProblems(
        c.config,
        "d1_databases",
        dbs,
        want,
        n,
        `one of DIRECTORY, DB_0 … DB_${n - 1}`,
      ),
    );
    for (const d of dbs) {
      if (!want.includes(d.binding)) continue;
      const first = seen.get(d.binding);
      if (!first) seen.set(d.binding, { ...d, config: c.config });
      else if (first.database_name !== d.database_name || first.database_id !== d.database_id) {
        problems.push(
          `${c.config} [env.production] d1_databases ${d.binding} names another database than ${first.config}`,
        );
      }
    }
    if (!SEARCHING.has(c.name)) continue;
    const indexes = prodOf(c).vectorize ?? [];
    const wantIndexes = Array.from({ length: n }, (_, i) =>
      VECTOR_KINDS.map(({ kind }) => `VECTORS_${kind.toUpperCase()}_${i}`),
    ).flat();
    problems.push(
      ...bindingProblems(
        c.config,
        "vectorize",
        indexes,
        wantIndexes,
        n,
        `a shard's index (VECTORS_<KIND>_0 … _${n - 1})`,
      ),
    );
    problems.push(
      ...duplicates(
        c.config,
        "vectorize index_name",
        indexes.map((v) => v.index_name),
      ),
    );
  }
  const dbs = [...seen.values()];
  problems.push(
    ...duplicates(
      "the production config",
      "d1 database_name",
      dbs.map((d) => d.database_name),
    ),
  );
  problems.push(
    ...duplicates(
      "the production config",
      "d1 database_id",
      dbs.map((d) => d.database_id).filter((id) => !/^REPLACE_WITH_/.test(String(id))),
    ),
  );
  return problems;
}

/**
 * The bindings of one `[env.production]` section that are missing from `want` or not in
 * it (`expected` names the valid set).
 */
function bindingProblems(config, section, bound, want, n, expected) {
  const has = new Set(bound.map((b) => b.binding));
  return [
    ...want
      .filter((b) => !has.has(b))
      .map((b) => `${config} [env.production] has no ${section} ${b} binding (DB_SHARDS = ${n})`),
    ...[...has]
      .filter((b) => !want.includes(b))
      .map((b) => `${config} [env.production] ${section} ${b} is not ${expected}`),
  ];
}

function duplicates(where, what, values) {
  const counts = new Map();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts]
    .filter(([, k]) => k > 1)
    .map(([v]) => `${where}: two bindings share the ${what} ${v}; each shard needs its own`);
}

/** The migration files named in `wrangler d1 migrations list` output (the ones not applied yet). */
export function pendingMigrations(listOutput) {
  return [...new Set(String(listOutput).match(/\b\d{4}_[\w-]+\.sql\b/g) ?? [])].sort();
}

/**
 * Databases that are not at the same migration as the others: `pending` maps a database
 * name to the migrations it has not applied. Empty when all agree.
 */
export function migrationSkew(pending) {
  const keyOf = (list) => list.join(",") || "(up to date)";
  const groups = new Map();
  for (const [name, list] of Object.entries(pending)) {
    const k = keyOf(list);
    groups.set(k, [...(groups.get(k) ?? []), name]);
  }
  if (groups.size <= 1) return [];
  return [...groups].map(
    ([k, names]) =>
      `${names.join(", ")}: ${k === "(up to date)" ? "every migration applied" : `not applied ${k}`}`,
  );
}

/**
 * The text of a wrangler.toml with `database_id` set for the production binding
 * `binding` where it is still the placeholder; other text (comments) stays as it is.
 */
export function withDatabaseId(text, binding, id) {
  const block = new RegExp(
    `(\\[\\[env\\.production\\.d1_databases\\]\\]\\s*\\nbinding\\s*=\\s*"${binding}"\\s*\\n(?:[^\\[\\n][^\\n]*\\n)*?database_id\\s*=\\s*)"REPLACE_WITH_D1_DATABASE_ID"`,
  );
  return text.replace(block, `$1"${id}"`);
}
