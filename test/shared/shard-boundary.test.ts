// Issue 22: a user's rows are reached only through `storeFor(env, uid)` (and the
// cross-user loops beside it), so which database holds them is decided in one place. This
// reads the workers' and the shared package's sources and fails on any touch of a shard
// binding (`DB_0`, `DB_${n}`, `env.DB`…) or of the directory binding outside the store.
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const STORE = new Set(
  ["store.ts", "shards.ts"].map((f) => path.join("packages", "shared", "src", "lifecycle", f)),
);

function sources(dir: string): string[] {
  return readdirSync(path.join(root, dir)).flatMap((name) => {
    const rel = path.join(dir, name);
    if (statSync(path.join(root, rel)).isDirectory()) return sources(rel);
    return /\.(ts|js|mjs)$/.test(name) && !/\.test\.ts$|\.d\.ts$/.test(name) ? [rel] : [];
  });
}

/** Each touch of a database binding in `text` (comments included: they are cheap to reword). */
function databaseTouches(text: string): string[] {
  const found: string[] = [];
  const lineOf = (at: number) => text.slice(0, at).split("\n").length;
  const patterns: [RegExp, string][] = [
    [/\benv\s*\??\.\s*DB\b(?!_SHARDS)/g, "env.DB"],
    [/\bDB_\d+\b/g, "a shard binding by name"],
    [/["'`]DB_(?:\$\{|["'`])/g, "a shard binding built from its number"],
    [/\.\s*DIRECTORY\b/g, "the directory binding"],
  ];
  for (const [re, what] of patterns) {
    for (const m of text.matchAll(re)) found.push(`line ${lineOf(m.index)}: ${what}`);
  }
  return found;
}

describe("the shard boundary", () => {
  it("finds what it must refuse", () => {
    expect(databaseTouches("const d = env.DB.prepare(sql);")).toHaveLength(1);
    expect(databaseTouches("return drizzle(c.env.DB_1);")).toHaveLength(1);
    // A template literal naming a shard by number (written in pieces: this file is scanned too).
    expect(databaseTouches(["Reflect.get(env, `DB_", "$", "{n}`)"].join(""))).toHaveLength(1);
    expect(databaseTouches("await env.DIRECTORY.prepare(sql)")).toHaveLength(1);
    expect(databaseTouches("readVars(shape, env).DB_SHARDS; storeFor(env, uid)")).toEqual([]);
  });

  it("leaves every database binding to the store (packages/shared/src/lifecycle/store.ts, shards.ts)", () => {
    const files = [
      ...["api", "processor", "embedder"].flatMap((w) => sources(path.join("workers", w, "src"))),
      ...sources(path.join("packages", "shared", "src")),
    ];
    expect(files.length).toBeGreaterThan(50);
    const offenders = files
      .filter((f) => !STORE.has(f))
      .flatMap((f) =>
        databaseTouches(readFileSync(path.join(root, f), "utf8")).map((t) => `${f} ${t}`),
      );
    expect(offenders).toEqual([]);
  });
});
