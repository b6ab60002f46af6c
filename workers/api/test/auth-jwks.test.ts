import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { AUTH_CLOCK_LEEWAY_SECONDS } from "../src/auth";
import { call, IDP, makeEnv, productionEnv } from "./helpers";

// Production auth: tokens from an identity provider, verified against its JWKS. The
// provider cannot run here, so its key set is served by a stand-in for `fetch` of the
// JWKS URL only; the tokens are signed with a real ES256 key pair made for this file.

const { jwksUrl: JWKS_URL, issuer: ISSUER, audience: AUDIENCE } = IDP;
const KID = "test-key-1";

let privateKey: CryptoKey;
let publicJwk: JsonWebKey;
/** A key pair the provider does not publish: its tokens must fail whatever their kid says. */
let foreignKey: CryptoKey;

beforeAll(async () => {
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  privateKey = pair.privateKey;
  const foreign = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  foreignKey = foreign.privateKey;
  publicJwk = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey;
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation((input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (url === JWKS_URL) {
      return Promise.resolve(
        Response.json({ keys: [{ ...publicJwk, kid: KID, alg: "ES256", use: "sig" }] }),
      );
    }
    return realFetch(input, init);
  });
});

afterAll(() => {
  vi.restoreAllMocks();
});

const prodEnv = () =>
  makeEnv({ AUTH_JWKS_URL: JWKS_URL, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE }).env;

function b64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

const enc = new TextEncoder();

/** A token as an identity provider would sign it; `header` adds to (or removes from) alg/kid. */
async function idpToken(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  key: CryptoKey = privateKey,
): Promise<string> {
  const h = Object.fromEntries(
    Object.entries({ alg: "ES256", kid: KID, ...header }).filter(([, v]) => v !== undefined),
  );
  const input = `${b64url(enc.encode(JSON.stringify(h)))}.${b64url(enc.encode(JSON.stringify(claims)))}`;
  // WebCrypto's ECDSA signature is r||s, the JWS ES256 encoding (RFC 7518 §3.4).
  const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, enc.encode(input));
  return `${input}.${b64url(new Uint8Array(sig))}`;
}

function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub: `idp|${crypto.randomUUID()}`,
    iss: ISSUER,
    aud: AUDIENCE,
    iat: now,
    exp: now + 300,
    ...extra,
  };
}

const stats = async (token: string) => call("/api/stats", { token, env: prodEnv() });

describe("bearer auth with an identity provider's JWKS", () => {
  it("accepts an RFC 9068 access token (typ at+jwt)", async () => {
    const res = await stats(await idpToken({ typ: "at+jwt" }, claims()));
    expect(res.status).toBe(200);
  });

  it("accepts the media-type spelling application/at+jwt", async () => {
    const res = await stats(await idpToken({ typ: "application/at+jwt" }, claims()));
    expect(res.status).toBe(200);
  });

  it("accepts a plain JWT (typ JWT) and a token without typ", async () => {
    expect((await stats(await idpToken({ typ: "JWT" }, claims()))).status).toBe(200);
    expect((await stats(await idpToken({ typ: undefined }, claims()))).status).toBe(200);
  });

  it("refuses a token of another type (an OpenID logout token, a DPoP proof)", async () => {
    for (const typ of ["logout+jwt", "dpop+jwt", "secevent+jwt"]) {
      const res = await stats(await idpToken({ typ }, claims()));
      expect(res.status, typ).toBe(401);
    }
  });

  it("refuses a provider token without exp, which would otherwise never expire", async () => {
    const { exp: _exp, ...noExp } = claims();
    const res = await stats(await idpToken({ typ: "at+jwt" }, noExp));
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      error: { code: "unauthorized", message: "The bearer token has no expiry (exp)" },
    });
  });

  it("refuses a provider token expired for longer than the clock leeway", async () => {
    const now = Math.floor(Date.now() / 1000);
    const res = await stats(await idpToken({ typ: "at+jwt" }, claims({ exp: now - 120 })));
    expect(res.status).toBe(401);
  });

  it("allows 60 s of clock skew on nbf, iat and exp, and no more", async () => {
    expect(AUTH_CLOCK_LEEWAY_SECONDS).toBe(60);
    const now = Math.floor(Date.now() / 1000);
    // A provider whose clock runs ahead: fresh tokens whose nbf/iat are in our future.
    for (const [claim, value, status] of [
      ["nbf", now + 30, 200],
      ["iat", now + 30, 200],
      ["exp", now - 30, 200],
      ["nbf", now + 120, 401],
      ["iat", now + 120, 401],
      ["exp", now - 120, 401],
    ] as const) {
      const res = await stats(await idpToken({}, claims({ [claim]: value })));
      expect(res.status, `${claim} ${value - now} s`).toBe(status);
    }
  });

  it("refuses a token signed with a foreign key under the provider's kid", async () => {
    const res = await stats(await idpToken({}, claims(), foreignKey));
    expect(res.status).toBe(401);
  });

  it("refuses a token without aud or iss (the checks are never skipped)", async () => {
    const { aud: _aud, ...noAud } = claims();
    const { iss: _iss, ...noIss } = claims();
    expect((await stats(await idpToken({}, noAud))).status).toBe(401);
    expect((await stats(await idpToken({}, noIss))).status).toBe(401);
  });

  it("verifies tokens in a complete production configuration", async () => {
    const res = await call("/api/stats", {
      token: await idpToken({ typ: "at+jwt" }, claims()),
      env: productionEnv().env,
    });
    expect(res.status).toBe(200);
  });

  it("fails closed when a JWKS is set without issuer or audience, even in development", async () => {
    for (const empty of ["AUTH_ISSUER", "AUTH_AUDIENCE"]) {
      const e = makeEnv({
        AUTH_JWKS_URL: JWKS_URL,
        AUTH_ISSUER: ISSUER,
        AUTH_AUDIENCE: AUDIENCE,
        [empty]: "",
      }).env;
      const res = await call("/api/stats", { token: await idpToken({}, claims()), env: e });
      expect(res.status, empty).toBe(503);
      expect(await res.json()).toMatchObject({ error: { code: "misconfigured" } });
    }
  });

  it("refuses a token for another audience or from another issuer", async () => {
    expect((await stats(await idpToken({}, claims({ aud: "someone-else" })))).status).toBe(401);
    expect((await stats(await idpToken({}, claims({ iss: "https://evil.test/" })))).status).toBe(
      401,
    );
  });

  it("refuses a token signed by a key the provider does not publish", async () => {
    const res = await stats(await idpToken({ kid: "unknown-key" }, claims()));
    expect(res.status).toBe(401);
  });
});
