import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PRODUCTION_SECRETS } from "@darkroom/shared/production-requirements";
import { parse } from "smol-toml";
import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without declarations
import { readConfigs } from "../../scripts/lib/deploy-config.mjs";
// @ts-expect-error plain ESM script without declarations
import { R2_BRIDGE, writeParityConfigs } from "../../scripts/lib/parity-config.mjs";

// What `npm run dev:prod` runs, checked without starting it: the generated configs are
// the committed [env.production] with only the listed replacements, the api gets exactly
// the production secrets, and the notification bridge exists only here.

const root = fileURLToPath(new URL("../..", import.meta.url));
const outDir = mkdtempSync(path.join(tmpdir(), "darkroom-parity-configs-"));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

const ctx = {
  outDir,
  pageOrigin: "http://localhost:4321",
  s3Endpoint: "http://127.0.0.1:4321/cdn-cgi/local/r2/s3",
  s3Credentials: { accessKeyId: "k", secretAccessKey: "s" },
  issuer: "http://127.0.0.1:5555/",
  jwksUrl: "http://127.0.0.1:5555/.well-known/jwks.json",
  operatorSubs: "olga",
  secrets: Object.fromEntries(PRODUCTION_SECRETS.map((s) => [s.name, `value-of-${s.name}`])),
  bridgeToken: "bridge-token",
};
const written = writeParityConfigs(ctx) as {
  workers: { name: string; config: string }[];
  bridge: string;
};
type Toml = Record<string, unknown> & { env: { production: Record<string, unknown> } };
const derived = (name: string) => {
  const w = written.workers.find((x) => x.name === name);
  if (!w) throw new Error(`no ${name}`);
  return parse(readFileSync(w.config, "utf8")) as Toml;
};
const devVars = (config: string) =>
  readFileSync(path.join(path.dirname(config), ".dev.vars"), "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => l.split("=")[0]);

describe("npm run dev:prod's configs", () => {
  it("gives the api exactly the secrets production needs, and the other workers none", () => {
    const api = written.workers.find((w) => w.name === "api");
    expect(devVars(api?.config ?? "").sort()).toEqual(PRODUCTION_SECRETS.map((s) => s.name).sort());
    expect(devVars(api?.config ?? "")).not.toContain("AUTH_SECRET");
    for (const name of ["processor", "embedder"]) {
      const w = written.workers.find((x) => x.name === name);
      expect(devVars(w?.config ?? ""), name).toEqual([]);
    }
    // wrangler reads .dev.vars beside the config: the generated configs live in the state
    // dir, never beside the developer's .dev.vars.
    for (const w of written.workers) expect(path.dirname(w.config).startsWith(outDir)).toBe(true);
  });

  it("runs the production vars as committed, but for the listed replacements", () => {
    const committed = readConfigs().find((c: { name: string }) => c.name === "api").toml.env
      .production.vars;
    const vars = derived("api").env.production.vars as Record<string, string>;
    expect(vars.DEV_LOGIN).toBe("false");
    expect(vars.UPLOAD_MODE).toBe("r2");
    expect(vars.AUTH_AUDIENCE).toBe(committed.AUTH_AUDIENCE);
    expect(vars).toMatchObject({
      AUTH_ISSUER: ctx.issuer,
      AUTH_JWKS_URL: ctx.jwksUrl,
      CORS_ALLOWED_ORIGINS: ctx.pageOrigin,
      R2_S3_ENDPOINT: ctx.s3Endpoint,
      OPERATOR_SUBS: "olga",
      DB_SHARDS: "2",
    });
    const replaced = [
      "AUTH_ISSUER",
      "AUTH_JWKS_URL",
      "CORS_ALLOWED_ORIGINS",
      "R2_S3_ENDPOINT",
      "R2_ACCOUNT_ID",
      "OPERATOR_SUBS",
      "DB_SHARDS",
    ];
    for (const [k, v] of Object.entries(committed)) {
      if (!replaced.includes(k)) expect(vars[k], k).toBe(v);
    }
  });

  it("keeps every production binding but AI and Vectorize, and serves no custom domain", () => {
    for (const c of readConfigs() as { name: string; toml: Toml }[]) {
      const prod = c.toml.env.production;
      const mine = derived(c.name).env.production;
      const dropped = ["ai", "vectorize", "routes"];
      const expectedKeys = Object.keys(prod).filter((k) => !dropped.includes(k));
      expect(Object.keys(mine).sort(), c.name).toEqual(expectedKeys.sort());
      for (const k of ["queues", "durable_objects", "analytics_engine_datasets", "images"]) {
        expect(mine[k], `${c.name} ${k}`).toEqual(prod[k]);
      }
      expect(mine.ai).toBeUndefined();
      expect(mine.vectorize).toBeUndefined();
    }
  });

  it("puts the notification bridge in its own config only, behind a token", () => {
    const bridge = parse(readFileSync(written.bridge, "utf8")) as Toml;
    expect(bridge.env.production.name).toBe(R2_BRIDGE.name);
    expect(devVars(written.bridge)).toEqual([R2_BRIDGE.tokenVar]);
    for (const c of readConfigs() as { config: string }[]) {
      expect(readFileSync(path.join(root, c.config), "utf8")).not.toContain(R2_BRIDGE.name);
    }
  });
});

describe("the production bundle", () => {
  it("has no trace of the dev:prod notification bridge", { timeout: 240_000 }, () => {
    const r = spawnSync(
      process.execPath,
      [path.join(root, "scripts/deploy.mjs"), "--dry-run", "--allow-placeholders"],
      { cwd: root, encoding: "utf8" },
    );
    expect(r.status, r.stderr).toBe(0);
    const text = `${r.stdout}${r.stderr}${bundleText(path.join(root, "dist"))}`;
    expect(text).toContain("darkroom-api");
    for (const needle of [R2_BRIDGE.name, R2_BRIDGE.tokenVar, "r2-bridge"]) {
      expect(text).not.toContain(needle);
    }
  });
});

/** Every file the dry run wrote under dist/, concatenated. */
function bundleText(dir: string): string {
  let out = "";
  for (const entry of readdirSync(dir)) {
    const file = path.join(dir, entry);
    out += statSync(file).isDirectory() ? bundleText(file) : readFileSync(file, "utf8");
  }
  return out;
}
