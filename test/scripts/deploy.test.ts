import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  DEV_SECRET_VALUES,
  PRODUCTION_SECRETS,
  PRODUCTION_VARS,
} from "@darkroom/shared/production-requirements";
import { afterAll, describe, expect, it } from "vitest";
import {
  bucketCorsRules,
  deployProblems,
  hasNotificationRule,
  jurisdictionArgs,
  parseDotenv,
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
  return readConfigs(root).map((c: Configs[number]) => {
    const toml = text(c.toml);
    // Each database its own id, as `wrangler d1 create` gives them (the same in every worker).
    const prod = toml.env.production as {
      d1_databases?: { binding: string; database_id: string }[];
    };
    for (const d of prod.d1_databases ?? []) {
      const n = d.binding === "DIRECTORY" ? 0 : Number(d.binding.slice(3)) + 1;
      d.database_id = `2f6c0b52-5d3e-4c55-9a51-0c7c7e0a1b${n.toString(16).padStart(2, "0")}`;
    }
    return { ...c, toml };
  });
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
/** The process env without any production secret: only what a test passes is checked. */
const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !PRODUCTION_SECRETS.some((s) => s.name === k)),
);
const run = (...args: string[]) =>
  spawnSync(process.execPath, ["scripts/deploy.mjs", ...args], {
    cwd: root,
    encoding: "utf8",
    env: cleanEnv,
  });

/** Production secrets as a deployer would generate them (openssl rand, an R2 token's pair). */
const SECRETS: Record<string, string> = {
  MEDIA_SIGNING_SECRET: "q3JmQ0xVb2N1c3RvbS1tZWRpYS1zaWduaW5nLTAxMjM0NTY3",
  TICKET_SIGNING_SECRET: "dGlja2V0LXNpZ25pbmctc2VjcmV0LXJhbmRvbS0wMTIzNDU2",
  R2_ACCESS_KEY_ID: "9f86d081884c7d659a2feaa0c55ad015",
  R2_SECRET_ACCESS_KEY: "a3f1c2e4b5d6978812345678909abcdef0123456789abcdef0123456789abcd",
};

const tmp = mkdtempSync(path.join(tmpdir(), "darkroom-deploy-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function secretsFile(secrets: Record<string, string>): string {
  const file = path.join(tmp, `secrets-${crypto.randomUUID()}.env`);
  writeFileSync(
    file,
    `# production secrets\n${Object.entries(secrets)
      .map(([k, v]) => `${k}=${v}`)
      .join("\n")}\n`,
  );
  return file;
}

const without = (o: Record<string, string>, name: string) =>
  Object.fromEntries(Object.entries(o).filter(([k]) => k !== name));

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
    for (const c of zeros) {
      const prod = (c.toml as { env: { production: { d1_databases: { database_id: string }[] } } })
        .env.production;
      const d1 = prod.d1_databases[0];
      if (d1) d1.database_id = "00000000-0000-0000-0000-000000000000";
    }
    expect(deployProblems(zeros, template)).toEqual([
      expect.stringContaining("the all-zero placeholder id"),
      expect.stringContaining("the all-zero placeholder id"),
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

describe("the production requirements in the deploy check", () => {
  it("passes a filled-in config with every production secret", () => {
    expect(deployProblems(filledIn(), template, { secrets: SECRETS })).toEqual([]);
  });

  it("fails naming each production secret that is missing", () => {
    expect(PRODUCTION_SECRETS.map((s) => s.name)).toEqual(Object.keys(SECRETS));
    for (const { name } of PRODUCTION_SECRETS) {
      expect(
        deployProblems(filledIn(), template, { secrets: without(SECRETS, name) }),
        name,
      ).toEqual([expect.stringContaining(`secret ${name} is not set`)]);
    }
  });

  it("fails naming each production var that is missing", () => {
    for (const { name } of PRODUCTION_VARS.filter((v) => !v.optional)) {
      const configs = filledIn();
      delete prodVars(configs)[name];
      const problems: string[] = deployProblems(configs, template, { secrets: SECRETS });
      expect(problems.length, name).toBeGreaterThan(0);
      expect(problems.join("\n"), name).toContain(name);
    }
  });

  it("refuses what is unsafe: empty issuer, audience or JWKS URL, dev login, local uploads", () => {
    for (const [name, value, says] of [
      ["AUTH_ISSUER", "", "AUTH_ISSUER is not set"],
      ["AUTH_AUDIENCE", "", "AUTH_AUDIENCE is not set"],
      ["AUTH_JWKS_URL", "", "AUTH_JWKS_URL is not set"],
      ["AUTH_JWKS_URL", "http://localhost:9000/jwks", "AUTH_JWKS_URL must be an https URL"],
      ["DEV_LOGIN", "true", 'DEV_LOGIN must be "false"'],
      ["UPLOAD_MODE", "local", 'UPLOAD_MODE must be "r2"'],
    ]) {
      const configs = filledIn();
      prodVars(configs)[name] = value;
      expect(deployProblems(configs, template, { secrets: SECRETS }), `${name}=${value}`).toEqual([
        expect.stringContaining(`wrangler.toml [env.production.vars] ${says}`),
      ]);
    }
  });

  it("refuses a secret shorter than 32 bytes, a malformed R2 key id and the dev values", () => {
    const short = deployProblems(filledIn(), template, {
      secrets: { ...SECRETS, MEDIA_SIGNING_SECRET: "too-short" },
    });
    expect(short).toEqual([expect.stringContaining("secret MEDIA_SIGNING_SECRET is 9 bytes")]);
    const keyId = deployProblems(filledIn(), template, {
      secrets: { ...SECRETS, R2_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE" },
    });
    expect(keyId).toEqual([
      expect.stringContaining("secret R2_ACCESS_KEY_ID is not an R2 Access Key ID"),
    ]);
    const dev = deployProblems(filledIn(), template, {
      secrets: { ...SECRETS, TICKET_SIGNING_SECRET: DEV_SECRET_VALUES.TICKET_SIGNING_SECRET },
    });
    expect(dev).toEqual([
      expect.stringContaining("TICKET_SIGNING_SECRET is the public development value"),
    ]);
  });

  it("requires workers_dev = false on every production worker", () => {
    for (const worker of ["api", "processor", "embedder"]) {
      const configs = filledIn();
      const config = configs.find((c) => c.name === worker);
      if (!config) throw new Error(`no ${worker} config`);
      const prod = (config.toml as { env: { production: Record<string, unknown> } }).env.production;
      delete prod.workers_dev;
      expect(deployProblems(configs, template, { secrets: SECRETS }), worker).toEqual([
        expect.stringContaining("[env.production] needs workers_dev = false"),
      ]);
    }
  });

  it("supports a bucket jurisdiction only when every R2 binding carries it", () => {
    const configs = filledIn();
    prodVars(configs).R2_JURISDICTION = "eu";
    const problems: string[] = deployProblems(configs, template, { secrets: SECRETS });
    // The api's, the processor's and the embedder's BUCKET bindings all lack it.
    expect(problems).toHaveLength(3);
    expect(problems[0]).toContain(
      'r2_buckets BUCKET has no jurisdiction but R2_JURISDICTION is "eu"',
    );
    for (const c of configs) {
      const prod = (c.toml as { env: { production: { r2_buckets: Record<string, string>[] } } }).env
        .production;
      for (const b of prod.r2_buckets) b.jurisdiction = "eu";
    }
    expect(deployProblems(configs, template, { secrets: SECRETS })).toEqual([]);
    expect(jurisdictionArgs(configs)).toEqual(["--jurisdiction", "eu"]);
    expect(jurisdictionArgs(filledIn())).toEqual([]);
    prodVars(configs).R2_JURISDICTION = "mars";
    expect(deployProblems(configs, template, { secrets: SECRETS })).toContainEqual(
      'wrangler.toml [env.production.vars] R2_JURISDICTION must be empty or one of eu, fedramp, us (is "mars")',
    );
  });

  it("finds an existing notification rule in wrangler's list output, so a re-deploy adds none", () => {
    const listed = [
      "Fetching notification rules for bucket darkroom-originals...",
      "rule_id:     3c1f",
      "created_at:  2026-12-01T10:00:00Z",
      "queue_name:  darkroom-uploads",
      "prefix:      (all prefixes)",
      "suffix:      /original",
      "event_type:  PutObject,CompleteMultipartUpload,CopyObject",
      "",
      "rule_id:     9a2b",
      "queue_name:  other-queue",
      "suffix:      (all suffixes)",
    ].join("\n");
    expect(hasNotificationRule(listed, "darkroom-uploads")).toBe(true);
    expect(hasNotificationRule(listed, "other-queue")).toBe(false);
    expect(hasNotificationRule("", "darkroom-uploads")).toBe(false);
  });

  it("reads a dotenv secrets file (comments, quotes, export)", () => {
    expect(parseDotenv('# c\nA=1\nexport B="two words"\nC=\n  D = x \n')).toEqual({
      A: "1",
      B: "two words",
      C: "",
      D: "x",
    });
  });
});

describe("scripts/deploy.mjs", () => {
  it("--check --secrets-file fails naming each production secret left out", () => {
    const ok = run("--check", "--allow-placeholders", "--secrets-file", secretsFile(SECRETS));
    expect(ok.stderr).toBe("");
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain("deploy: secrets checked (from ");
    for (const { name } of PRODUCTION_SECRETS) {
      const r = run(
        "--check",
        "--allow-placeholders",
        "--secrets-file",
        secretsFile(without(SECRETS, name)),
      );
      expect(r.status, name).toBe(1);
      expect(r.stderr, name).toContain(`secret ${name} is not set`);
    }
  });

  it("--check checks the production secrets found in the environment", () => {
    const r = spawnSync(
      process.execPath,
      ["scripts/deploy.mjs", "--check", "--allow-placeholders"],
      {
        cwd: root,
        encoding: "utf8",
        env: { ...cleanEnv, MEDIA_SIGNING_SECRET: SECRETS.MEDIA_SIGNING_SECRET },
      },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("secret TICKET_SIGNING_SECRET is not set");
  });

  it("--check without secrets lists the ones that must be set", () => {
    const r = run("--check", "--allow-placeholders");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(
      "deploy: secrets not checked (none given: --secrets-file <dotenv> or the environment)",
    );
    for (const { name } of PRODUCTION_SECRETS) expect(r.stdout).toContain(name);
  });

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
