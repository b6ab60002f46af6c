import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DEV_SECRET_VALUES, PRODUCTION_SECRETS } from "@darkroom/shared/production-requirements";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const readme = readFileSync(`${root}README.md`, "utf8");

/** README's "Production setup" step 8: from its bold heading to the next step's. */
function step8(): string {
  const setup = readme.slice(readme.indexOf("## Production setup"));
  const start = setup.indexOf("**8. ");
  const end = setup.indexOf("**9. ");
  if (start === -1 || end === -1) throw new Error("README has no Production setup step 8");
  return setup.slice(start, end);
}

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

describe("DEV_SECRET_VALUES", () => {
  it("is every secret value of .dev.vars.example", () => {
    const example = readFileSync(`${root}.dev.vars.example`, "utf8");
    const values = Object.fromEntries(
      [...example.matchAll(/^([A-Z0-9_]+)=(.+)$/gm)].map((m) => [m[1], m[2]]),
    );
    expect(DEV_SECRET_VALUES).toEqual(values);
  });
});
