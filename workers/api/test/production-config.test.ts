import {
  DEV_SECRET_VALUES,
  PRODUCTION_SECRETS,
  PRODUCTION_VARS,
} from "@darkroom/shared/production-requirements";
import { describe, expect, it } from "vitest";
import { call, makeEnv, PRODUCTION_CONFIG, productionEnv, tokenFor, userName } from "./helpers";

// The api checks itself against packages/shared/src/production-requirements.mjs when
// configured for production (DEV_LOGIN not "true") and answers 503 `misconfigured`,
// naming what is wrong, before any route runs.

const health = (e: Env) => call("/api/health", { env: e });

async function misconfigured(res: Response): Promise<{ message: string; names: string[] }> {
  expect(res.status).toBe(503);
  const body: {
    error: { code: string; message: string; details: { problems: { name: string }[] } };
  } = await res.json();
  expect(body.error.code).toBe("misconfigured");
  return { message: body.error.message, names: body.error.details.problems.map((p) => p.name) };
}

describe("a production-configured api", () => {
  it("answers health when every production secret and var is there", async () => {
    const res = await health(productionEnv().env);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it("answers 503 naming each missing secret or var, health and routes alike", async () => {
    const required = [...PRODUCTION_SECRETS, ...PRODUCTION_VARS].filter((r) => !r.optional);
    expect(required.map((r) => r.name)).toEqual(
      expect.arrayContaining(["TICKET_SIGNING_SECRET", "AUTH_ISSUER", "UPLOAD_MODE"]),
    );
    for (const { name } of required) {
      const e = productionEnv({ [name]: undefined }).env;
      for (const path of ["/api/health", "/api/stats", "/api/uploads"]) {
        const { message, names } = await misconfigured(await call(path, { env: e }));
        expect(names, `${name} at ${path}`).toEqual([name]);
        expect(message, name).toContain(`${name} is not set`);
      }
    }
  });

  it("treats an empty setting as missing (no check silently turned off)", async () => {
    for (const name of ["AUTH_ISSUER", "AUTH_AUDIENCE", "AUTH_JWKS_URL"]) {
      const { names } = await misconfigured(await health(productionEnv({ [name]: "" }).env));
      expect(names).toEqual([name]);
    }
  });

  it("refuses the public development secrets, even ones production never reads", async () => {
    for (const [name, value] of Object.entries(DEV_SECRET_VALUES)) {
      const { names, message } = await misconfigured(
        await health(productionEnv({ [name]: value }).env),
      );
      expect(names, name).toContain(name);
      expect(message).toContain(`${name} is the public development value from .dev.vars.example`);
    }
  });

  it("refuses a signing secret shorter than 32 bytes and a malformed R2 key id", async () => {
    const short = await misconfigured(
      await health(productionEnv({ TICKET_SIGNING_SECRET: "x".repeat(31) }).env),
    );
    expect(short.message).toContain("TICKET_SIGNING_SECRET is 31 bytes");
    const keyId = await misconfigured(await health(productionEnv({ R2_ACCESS_KEY_ID: "abc" }).env));
    expect(keyId.names).toEqual(["R2_ACCESS_KEY_ID"]);
  });

  it("refuses unsafe vars: DEV_LOGIN other than false, local uploads, an http issuer", async () => {
    for (const [name, value] of [
      ["DEV_LOGIN", "yes"],
      ["UPLOAD_MODE", "local"],
      ["AUTH_ISSUER", "http://idp.darkroom.test/"],
      ["AUTH_JWKS_URL", "http://idp.darkroom.test/jwks.json"],
      ["CORS_ALLOWED_ORIGINS", "https://darkroom.test/app"],
      ["R2_JURISDICTION", "mars"],
    ] as const) {
      const { names } = await misconfigured(await health(productionEnv({ [name]: value }).env));
      expect(names, `${name}=${value}`).toEqual([name]);
    }
  });

  it("accepts an http issuer on a loopback host (the local parity stack; unreachable when deployed)", async () => {
    const res = await health(
      productionEnv({
        AUTH_ISSUER: "http://127.0.0.1:9999/",
        AUTH_JWKS_URL: "http://localhost:9999/jwks.json",
      }).env,
    );
    expect(res.status).toBe(200);
  });

  it("charges no ticket token while misconfigured: the check answers before the route", async () => {
    // Tokens here are the local HS256 kind, so the same users can ask again in dev config.
    const [refused, fresh] = [userName(), userName()];
    const misconfiguredEnv = productionEnv({ TICKET_SIGNING_SECRET: undefined }).env;
    for (let i = 0; i < 3; i++) {
      const res = await call("/api/events/ticket", {
        method: "POST",
        token: await tokenFor(refused),
        env: misconfiguredEnv,
      });
      const { names } = await misconfigured(res);
      expect(names).toEqual(["TICKET_SIGNING_SECRET"]);
    }
    const remaining = async (user: string) => {
      const res = await call("/api/events/ticket", {
        method: "POST",
        token: await tokenFor(user),
        env: makeEnv().env,
      });
      expect(res.status).toBe(200);
      return res.headers.get("RateLimit-Remaining");
    };
    expect(await remaining(refused)).toBe(await remaining(fresh));
  });

  it("is not checked in a development configuration (DEV_LOGIN true)", async () => {
    const res = await health(
      makeEnv({}, { ...PRODUCTION_CONFIG, DEV_LOGIN: "true", AUTH_ISSUER: "" }).env,
    );
    expect(res.status).toBe(200);
  });
});
