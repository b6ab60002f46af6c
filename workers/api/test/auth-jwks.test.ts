import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { call, makeEnv } from "./helpers";

// Production auth: tokens from an identity provider, verified against its JWKS. The
// provider cannot run here, so its key set is served by a stand-in for `fetch` of the
// JWKS URL only; the tokens are signed with a real ES256 key pair made for this file.

const JWKS_URL = "https://idp.darkroom.test/.well-known/jwks.json";
const ISSUER = "https://idp.darkroom.test/";
const AUDIENCE = "darkroom";
const KID = "test-key-1";

let privateKey: CryptoKey;
let publicJwk: JsonWebKey;

beforeAll(async () => {
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  privateKey = pair.privateKey;
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
): Promise<string> {
  const h = Object.fromEntries(
    Object.entries({ alg: "ES256", kid: KID, ...header }).filter(([, v]) => v !== undefined),
  );
  const input = `${b64url(enc.encode(JSON.stringify(h)))}.${b64url(enc.encode(JSON.stringify(claims)))}`;
  // WebCrypto's ECDSA signature is r||s, the JWS ES256 encoding (RFC 7518 §3.4).
  const sig = await crypto.subtle.sign(
    { name: "ECDSA", hash: "SHA-256" },
    privateKey,
    enc.encode(input),
  );
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

  it("refuses an expired provider token", async () => {
    const now = Math.floor(Date.now() / 1000);
    const res = await stats(await idpToken({ typ: "at+jwt" }, claims({ exp: now - 5 })));
    expect(res.status).toBe(401);
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
