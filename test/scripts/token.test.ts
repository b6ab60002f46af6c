import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { verify } from "hono/jwt";
import { expect, it } from "vitest";

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
