import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DEV_SECRET_VALUES, PRODUCTION_SECRETS } from "@darkroom/shared/production-requirements";
import { describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without declarations
import { readConfigs } from "../../scripts/lib/deploy-config.mjs";
// @ts-expect-error plain ESM script without declarations
import { productionDatabases, productionIndexes } from "../../scripts/lib/deploy-shards.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const readme = readFileSync(`${root}README.md`, "utf8");

/** README's "Production setup" step `n`: from its bold heading to the next step's. */
function step(n: number): string {
  const setup = readme.slice(readme.indexOf("## Production setup"));
  const start = setup.indexOf(`**${n}. `);
  const end = setup.indexOf(`**${n + 1}. `);
  if (start === -1 || end === -1) throw new Error(`README has no Production setup step ${n}`);
  return setup.slice(start, end);
}
const step8 = () => step(8);

describe("README's production setup", () => {
  it("step 8 sets exactly the production secrets of the one list, in its order", () => {
    // The command a deployer copies: `for s in A B C; do npx wrangler secret put $s …`.
    const loop = /for s in ([A-Z0-9_ ]+); do\s+npx wrangler secret put \$s --env production/.exec(
      step8(),
    );
    expect(loop?.[1]?.trim().split(/\s+/)).toEqual(PRODUCTION_SECRETS.map((s) => s.name));
  });

  it("step 8 says the local-only secrets are never read in production", () => {
    const text = step8().replace(/\s+/g, " ");
    const localOnly = Object.keys(DEV_SECRET_VALUES).filter(
      (name) => !PRODUCTION_SECRETS.some((s) => s.name === name),
    );
    expect(localOnly).toEqual(["AUTH_SECRET", "UPLOAD_SIGNING_SECRET"]);
    for (const name of localOnly) expect(text).toContain(`\`${name}\``);
    expect(text).toContain("never read in production");
  });
});

describe("README's production setup of the shards", () => {
  const configs = readConfigs(fileURLToPath(new URL("../..", import.meta.url)));

  it("step 2 says how to choose N from the capacity, how to grow it, and what --provision makes", () => {
    const text = step(2).replace(/\s+/g, " ");
    for (const words of [
      "`DB_SHARDS`",
      "~3.4 KB per photo",
      "~3 M photos",
      "10 M vectors",
      "**Growing N.**",
      "new users",
      "`npm run deploy -- --provision`",
      "stops unless all of them end at the same migration",
    ]) {
      expect(text).toContain(words);
    }
  });

  it("names the databases and indexes as the committed production config binds them", () => {
    const text = `${step(2)}${step(6)}`;
    for (const { binding, name } of productionDatabases(configs) as {
      binding: string;
      name: string;
    }[]) {
      const pattern = name.replace(/-\d+$/, "-<n>");
      expect(text).toContain(`\`${pattern}\``);
      expect(text).toContain(binding.startsWith("DB_") ? "`DB_0`" : `\`${binding}\``);
    }
    for (const { name } of productionIndexes(configs) as { name: string }[]) {
      expect(text).toContain(name.replace(/-\d+$/, "-<n>"));
    }
  });
});

describe("DEV_SECRET_VALUES", () => {
  it("is every secret value of .dev.vars.example", () => {
    const example = readFileSync(`${root}.dev.vars.example`, "utf8");
    const values = Object.fromEntries(
      [...example.matchAll(/^([A-Z0-9_]+)=(.+)$/gm)].map((m) => [m[1], m[2]]),
    );
    expect(DEV_SECRET_VALUES).toEqual(values);
  });
});
