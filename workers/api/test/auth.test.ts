import { env } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { AUTH_CLOCK_LEEWAY_SECONDS } from "../src/auth";
import { call, json, productionEnv, tokenFor, uidFor, userName } from "./helpers";

const unauthorized = { error: { code: "unauthorized", message: expect.any(String) } };

describe("bearer auth", () => {
  it("refuses a request without a token with DESIGN.md's error body", async () => {
    const res = await call("/api/assets");
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(unauthorized);
  });

  it("refuses a token signed with another secret", async () => {
    const forged = await sign(
      { sub: "mallory", exp: Math.floor(Date.now() / 1000) + 60 },
      "not-the-secret",
      "HS256",
    );
    const res = await call("/api/stats", { token: forged });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(unauthorized);
  });

  it("refuses a token expired for longer than the clock leeway", async () => {
    const expired = await sign(
      { sub: "old", exp: Math.floor(Date.now() / 1000) - AUTH_CLOCK_LEEWAY_SECONDS - 60 },
      env.AUTH_SECRET,
      "HS256",
    );
    expect((await call("/api/stats", { token: expired })).status).toBe(401);
  });

  it("refuses a token without a subject", async () => {
    const noSub = await sign({ exp: Math.floor(Date.now() / 1000) + 60 }, env.AUTH_SECRET, "HS256");
    expect((await call("/api/stats", { token: noSub })).status).toBe(401);
  });

  it("refuses garbage and non-bearer schemes", async () => {
    for (const header of ["Bearer not.a.jwt", "Basic dXNlcjpwdw==", "Bearer"]) {
      const res = await call("/api/stats", { headers: { Authorization: header } });
      expect(res.status).toBe(401);
    }
  });

  it("refuses an unsigned (alg none) token", async () => {
    const b64 = (o: object) => btoa(JSON.stringify(o)).replaceAll("=", "");
    const none = `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: "eve", exp: 9999999999 })}.`;
    expect((await call("/api/stats", { token: none })).status).toBe(401);
  });

  it("maps the JWT sub to one stable opaque user id that is not the sub", async () => {
    const user = userName();
    const token = await tokenFor(user);
    expect((await call("/api/stats", { token })).status).toBe(200);
    expect((await call("/api/stats", { token: await tokenFor(user) })).status).toBe(200);
    const uid = await uidFor(user);
    expect(uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const n = await env.DIRECTORY.prepare("SELECT COUNT(*) AS n FROM users WHERE sub = ?")
      .bind(user)
      .first<{ n: number }>();
    expect(n?.n).toBe(1);
  });

  it("keeps path-like subjects out of everything but the users table", async () => {
    const token = await tokenFor("../../u/other/../evil");
    expect((await call("/api/stats", { token })).status).toBe(200);
    expect(await uidFor("../../u/other/../evil")).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("POST /api/dev/login", () => {
  it("issues a working token when DEV_LOGIN=true", async () => {
    const res = await call("/api/dev/login", json({ user: "alice" }));
    expect(res.status).toBe(200);
    const { token }: { token: string } = await res.json();
    expect((await call("/api/stats", { token })).status).toBe(200);
  });

  it("does not exist in a production configuration (DEV_LOGIN false)", async () => {
    const { env: prod } = productionEnv();
    const res = await call("/api/dev/login", json({ user: "alice" }, { env: prod }));
    expect(res.status).toBe(404);
  });

  it("refuses an empty user name", async () => {
    const res = await call("/api/dev/login", json({ user: "  " }));
    expect(res.status).toBe(400);
  });
});

describe("local HS256 tokens", () => {
  const now = () => Math.floor(Date.now() / 1000);
  const hs = (claims: Record<string, unknown>) =>
    sign({ sub: userName(), ...claims }, env.AUTH_SECRET, "HS256");

  it("refuses one without exp", async () => {
    const res = await call("/api/stats", { token: await hs({ iat: now() }) });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      error: { code: "unauthorized", message: "The bearer token has no expiry (exp)" },
    });
  });

  it("are refused by a production configuration, even signed with the right secret", async () => {
    // The production worker has a JWKS; HS256 is never tried there (no fallback).
    const { env: prod } = productionEnv({ AUTH_SECRET: env.AUTH_SECRET });
    const res = await call("/api/stats", { token: await hs({ exp: now() + 60 }), env: prod });
    expect(res.status).toBe(401);
  });
});

describe("errors", () => {
  it("answers an unknown API route with a JSON 404", async () => {
    const res = await call("/api/nope");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: "not_found", message: "No such route" } });
  });
});
