import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  bucketCorsRules,
  deployProblems,
  readConfigs,
  readUploadCors,
  // @ts-expect-error plain ESM script without declarations
} from "../../scripts/lib/deploy-config.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));

type Configs = { name: string; config: string; toml: Record<string, unknown> }[];

/** The repository's configs with every placeholder filled in as a person would. */
function filledIn(): Configs {
  const text = (v: unknown) =>
    JSON.parse(
      JSON.stringify(v)
        .replaceAll("REPLACE_WITH_D1_DATABASE_ID", "2f6c0b52-5d3e-4c55-9a51-0c7c7e0a1b2c")
        .replaceAll("REPLACE_WITH_ACCOUNT_ID", "0123456789abcdef0123456789abcdef")
        .replaceAll("darkroom.example.com", "photos.darkroom.test")
        .replaceAll("auth.example.com", "login.darkroom.test"),
    );
  return readConfigs(root).map((c: Configs[number]) => ({ ...c, toml: text(c.toml) }));
}

function prodVars(configs: Configs): Record<string, string> {
  const api = configs.find((c) => c.name === "api")?.toml as {
    env: { production: { vars: Record<string, string> } };
  };
  return api.env.production.vars;
}

function prodOf(configs: Configs): Record<string, unknown> {
  const api = configs.find((c) => c.name === "api")?.toml as {
    env: { production: Record<string, unknown> };
  };
  return api.env.production;
}

const template = readUploadCors(root);
const run = (...args: string[]) =>
  spawnSync(process.execPath, ["scripts/deploy.mjs", ...args], { cwd: root, encoding: "utf8" });

describe("npm run deploy's checks", () => {
  it("passes a production config with every placeholder filled in", () => {
    expect(deployProblems(filledIn(), template)).toEqual([]);
  });

  it("refuses each kind of placeholder, naming the file and the key", () => {
    const problems: string[] = deployProblems(readConfigs(root), template);
    expect(problems).toContainEqual(
      expect.stringMatching(
        /^wrangler\.toml \[env\.production\] vars\.R2_ACCOUNT_ID .*REPLACE_WITH_/,
      ),
    );
    expect(problems).toContainEqual(
      expect.stringMatching(/^workers\/embedder\/wrangler\.toml .*d1_databases\[0\]\.database_id/),
    );
    expect(problems).toContainEqual(expect.stringMatching(/routes\[0\]\.pattern .*example\.com/));
    const zeros = filledIn();
    const d1 = (prodOf(zeros).d1_databases as { database_id: string }[])[0];
    if (d1) d1.database_id = "00000000-0000-0000-0000-000000000000";
    expect(deployProblems(zeros, template)).toEqual([
      expect.stringContaining("the all-zero placeholder id"),
    ]);
  });

  it("refuses when the domain the app is served on is not an allowed upload origin", () => {
    const configs = filledIn();
    prodVars(configs).CORS_ALLOWED_ORIGINS = "https://other.darkroom.test";
    expect(deployProblems(configs, template)).toEqual([
      expect.stringContaining(
        "the app is served on https://photos.darkroom.test ([env.production] routes) but CORS_ALLOWED_ORIGINS",
      ),
    ]);
  });

  it("refuses a production config without a route or custom domain (the page would be on workers.dev)", () => {
    const configs = filledIn();
    delete prodOf(configs).routes;
    expect(deployProblems(configs, template)).toEqual([
      expect.stringContaining("[env.production] has no routes"),
    ]);
  });

  it("refuses origins a browser never sends (trailing slash, path, http, wildcard)", () => {
    for (const bad of [
      "https://photos.darkroom.test/",
      "https://photos.darkroom.test/app",
      "http://photos.darkroom.test",
      "https://*.darkroom.test",
    ]) {
      const configs = filledIn();
      prodVars(configs).CORS_ALLOWED_ORIGINS = `https://photos.darkroom.test,${bad}`;
      expect(deployProblems(configs, template), bad).toEqual([
        expect.stringContaining(`CORS_ALLOWED_ORIGINS entry "${bad}" is not an https origin`),
      ]);
    }
  });

  it("refuses a second hand-written origin list in the bucket rule's template", () => {
    const withOrigins = {
      rule: {
        ...template.rule,
        allowed: { ...template.rule.allowed, origins: ["https://x.test"] },
      },
    };
    expect(deployProblems(filledIn(), withOrigins)).toEqual([
      expect.stringContaining("upload-cors.json lists origins"),
    ]);
  });

  it("generates the bucket's CORS rule from CORS_ALLOWED_ORIGINS alone", () => {
    const rules = bucketCorsRules(template, ["https://a.test", "https://b.test"]);
    expect(rules).toEqual({
      rules: [
        {
          id: "darkroom-browser-uploads",
          allowed: {
            origins: ["https://a.test", "https://b.test"],
            methods: ["PUT"],
            headers: ["content-type", "x-amz-checksum-sha256", "if-none-match"],
          },
          exposeHeaders: ["ETag"],
          maxAgeSeconds: 3600,
        },
      ],
    });
  });
});

describe("scripts/deploy.mjs", () => {
  it("--check refuses the committed config's placeholders with a clear list", () => {
    const r = run("--check");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("deploy: not deploying; fix these in the production config first:");
    expect(r.stderr).toContain("REPLACE_WITH_D1_DATABASE_ID");
    expect(r.stderr).toContain("example.com placeholder domain");
  });

  it("--check --allow-placeholders (CI's offline dry run) passes the committed config", () => {
    const r = run("--check", "--allow-placeholders");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("uploads allowed from https://darkroom.example.com");
  });

  it("never skips the placeholder check for a real deploy", () => {
    const r = run("--allow-placeholders");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("--allow-placeholders only goes with --check or --dry-run");
  });
});
