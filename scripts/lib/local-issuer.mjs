// The identity provider of `npm run dev:prod`: an OpenID-style issuer on 127.0.0.1 that
// serves its discovery document and a JWKS with one real ES256 key, and signs tokens
// with it, so the api verifies them exactly as it verifies a production provider's
// (workers/api/src/auth.ts, verifyWithJwks against AUTH_JWKS_URL, AUTH_ISSUER, AUTH_AUDIENCE).
//
// Everything lives in <state dir>/issuer/: key.json (the private key as a JWK, made once
// with node:crypto) and issuer.json ({ issuer, jwksUrl, audience } of the running stack).
// `npm run -s token -- --prod <user>` reads both from DARKROOM_STATE_DIR (default
// .wrangler/state-prod, the dev:prod default), so a token printed there is one the
// running stack accepts.
import { createPrivateKey, generateKeyPairSync, randomUUID, sign } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import path from "node:path";

const ALG = "ES256";

function issuerDir(stateDir) {
  return path.join(stateDir, "issuer");
}

/** The issuer's signing key, created on first use and kept in the state dir. */
export function issuerKey(stateDir) {
  const file = path.join(issuerDir(stateDir), "key.json");
  if (!existsSync(file)) {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = privateKey.export({ format: "jwk" });
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify({ kid: randomUUID(), jwk }, null, 2)}\n`, {
      mode: 0o600,
    });
  }
  const { kid, jwk } = JSON.parse(readFileSync(file, "utf8"));
  return { kid, privateJwk: jwk, publicJwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } };
}

/** A key of nobody's: what a forger would sign with (for tests of the refusal). */
export function foreignKey() {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = privateKey.export({ format: "jwk" });
  return { kid: randomUUID(), privateJwk: jwk };
}

const b64url = (value) => Buffer.from(value).toString("base64url");

/**
 * A signed JWT (ES256, `typ: JWT`, `kid`) with `iss`, `aud`, `sub`, `iat`, `exp`; `claims`
 * overrides or, set to undefined, removes any of them (tests use it for broken tokens).
 */
export function signToken(key, { iss, aud, sub, ttlSeconds = 3600, claims = {} }) {
  const now = Math.floor(Date.now() / 1000);
  const payload = { iss, aud, sub, iat: now, exp: now + ttlSeconds, ...claims };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  const header = { alg: ALG, typ: "JWT", kid: key.kid };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const signature = sign("sha256", Buffer.from(input), {
    key: createPrivateKey({ key: key.privateJwk, format: "jwk" }),
    // JWS wants r || s (RFC 7518 §3.4), not DER.
    dsaEncoding: "ieee-p1363",
  });
  return `${input}.${signature.toString("base64url")}`;
}

/** What the running issuer of this state dir announced (written by startIssuer). */
export function readIssuer(stateDir) {
  const file = path.join(issuerDir(stateDir), "issuer.json");
  if (!existsSync(file)) {
    throw new Error(
      `no local issuer in ${stateDir}: start \`npm run dev:prod\` with this DARKROOM_STATE_DIR first`,
    );
  }
  return JSON.parse(readFileSync(file, "utf8"));
}

/** A token the dev:prod stack of `stateDir` accepts for `sub`. */
export function issuedToken(stateDir, sub, options = {}) {
  const { issuer, audience } = readIssuer(stateDir);
  return signToken(issuerKey(stateDir), { iss: issuer, aud: audience, sub, ...options });
}

/**
 * Serves discovery and the JWKS on 127.0.0.1. The port of the previous run is reused when
 * it is free, so the issuer URL (the tokens' `iss`) stays the same across restarts.
 * @returns {Promise<{ issuer: string, jwksUrl: string, close: () => Promise<void> }>}
 */
export async function startIssuer(stateDir, audience) {
  const key = issuerKey(stateDir);
  const file = path.join(issuerDir(stateDir), "issuer.json");
  let previousPort = 0;
  try {
    previousPort = new URL(JSON.parse(readFileSync(file, "utf8")).issuer).port;
  } catch {
    // first run
  }
  let issuer = "";
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", issuer);
    let body;
    if (url.pathname === "/.well-known/openid-configuration") {
      body = {
        issuer,
        jwks_uri: `${issuer}.well-known/jwks.json`,
        id_token_signing_alg_values_supported: [ALG],
        response_types_supported: ["token"],
        subject_types_supported: ["public"],
      };
    } else if (url.pathname === "/.well-known/jwks.json") {
      body = { keys: [{ ...key.publicJwk, kid: key.kid, alg: ALG, use: "sig" }] };
    }
    if (!body || req.method !== "GET") {
      res.writeHead(404, { "Content-Type": "application/json" }).end('{"error":"not found"}');
      return;
    }
    res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(body));
  });
  const listen = (port) =>
    new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve(server.address().port);
      });
    });
  const port = await listen(Number(previousPort) || 0).catch(() => listen(0));
  issuer = `http://127.0.0.1:${port}/`;
  const jwksUrl = `${issuer}.well-known/jwks.json`;
  writeFileSync(file, `${JSON.stringify({ issuer, jwksUrl, audience }, null, 2)}\n`);
  return { issuer, jwksUrl, close: () => new Promise((r) => server.close(() => r())) };
}
