import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { decode, verify, verifyWithJwks } from "hono/jwt";
import { expect, it } from "vitest";
// @ts-expect-error plain ESM script without declarations
import { startIssuer } from "../../scripts/lib/local-issuer.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));

it("npm run token prints an HS256 token for the user, signed with AUTH_SECRET", async () => {
  const secret = "token-test-secret-0123456789";
  const out = execFileSync(process.execPath, ["scripts/token.mjs", "alice"], {
    cwd: root,
    env: { ...process.env, AUTH_SECRET: secret },
  })
    .toString()
    .trim();
  const payload = await verify(out, secret, "HS256");
  expect(payload.sub).toBe("alice");
  expect(Number(payload.exp) - Number(payload.iat)).toBe(7 * 24 * 3600);
});

it("npm run token without a user prints its usage and fails", () => {
  expect(() =>
    execFileSync(process.execPath, ["scripts/token.mjs"], { cwd: root, stdio: "pipe" }),
  ).toThrow(/usage/);
});

it("npm run token -- --prod prints a token the local issuer's JWKS verifies, with iss, aud, sub, exp", async () => {
  const stateDir = mkdtempSync(path.join(tmpdir(), "darkroom-token-prod-"));
  const issuer = await startIssuer(stateDir, "darkroom");
  try {
    const out = execFileSync(process.execPath, ["scripts/token.mjs", "--prod", "alice", "600"], {
      cwd: root,
      env: { ...process.env, DARKROOM_STATE_DIR: stateDir },
    })
      .toString()
      .trim();
    const { header } = decode(out);
    expect(header).toMatchObject({ alg: "ES256", typ: "JWT" });
    const payload = await verifyWithJwks(out, {
      jwks_uri: issuer.jwksUrl,
      allowedAlgorithms: ["ES256"],
      verification: { iss: issuer.issuer, aud: "darkroom" },
    });
    expect(payload.sub).toBe("alice");
    expect(Number(payload.exp) - Number(payload.iat)).toBe(600);
    // The discovery document names the same issuer and key set.
    const discovery = await (
      await fetch(`${issuer.issuer}.well-known/openid-configuration`)
    ).json();
    expect(discovery).toMatchObject({ issuer: issuer.issuer, jwks_uri: issuer.jwksUrl });
  } finally {
    await issuer.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
});

it("npm run token -- --prod without a started dev:prod state says how to get one", () => {
  const stateDir = mkdtempSync(path.join(tmpdir(), "darkroom-token-none-"));
  try {
    const r = spawnSync(process.execPath, ["scripts/token.mjs", "--prod", "alice"], {
      cwd: root,
      env: { ...process.env, DARKROOM_STATE_DIR: stateDir },
      encoding: "utf8",
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("npm run dev:prod");
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
});
