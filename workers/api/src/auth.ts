import { directoryOf, placeUser } from "@darkroom/shared";
import { users } from "@darkroom/shared/db";
import { eq } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { decode, sign, verify, verifyWithJwks } from "hono/jwt";
import { HttpError, Unauthorized } from "./errors";
import { isProduction } from "./lib/config/production-config";
import type { AppEnv } from "./types";

/**
 * Token types accepted from an identity provider: plain JWTs (`typ: JWT`, or no `typ`,
 * which hono's default already allows) and RFC 9068 OAuth 2.0 access tokens
 * (`typ: at+jwt`, https://www.rfc-editor.org/rfc/rfc9068#section-2.1). Any other `typ`
 * (an ID token's `id+jwt`, a logout token, ...) is a different kind of token and is refused.
 */
const ACCEPTED_TYPES = ["JWT", "at+jwt"];

/**
 * hono's `typ` option, when set, also refuses a header without `typ`; an absent `typ`
 * goes through hono's default (JWT or none), a present one must be one of ours.
 */
function typOption(token: string): string[] | undefined {
  try {
    return "typ" in decode(token).header ? ACCEPTED_TYPES : undefined;
  } catch {
    // Not a JWT at all: verification fails on it with the same 401.
    return undefined;
  }
}

/**
 * Clock leeway for `exp`, `nbf` and `iat`: a provider whose clock runs a little ahead (or
 * ours behind) must not cause random 401s on fresh tokens. hono's `verify` compares with
 * zero leeway and has no option for it, so its time checks are turned off and the claims
 * are checked here, after the signature (`checkTimes`). 60 s is what common JWT libraries
 * allow by default; a stolen token gains at most this much life.
 */
export const AUTH_CLOCK_LEEWAY_SECONDS = 60;

const NO_TIME_CHECKS = { nbf: false, exp: false, iat: false } as const;

/** The time claims with leeway; `exp` is required (a token without it never expires). */
function timeProblem(payload: Record<string, unknown>, now: number): string | null {
  const { exp, nbf, iat } = payload;
  if (typeof exp !== "number" || !Number.isFinite(exp))
    return "The bearer token has no expiry (exp)";
  if (exp + AUTH_CLOCK_LEEWAY_SECONDS <= now) return "The bearer token is invalid or expired";
  for (const [claim, value] of [
    ["nbf", nbf],
    ["iat", iat],
  ] as const) {
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isFinite(value)) {
      return `The bearer token's ${claim} is not a number`;
    }
    if (value > now + AUTH_CLOCK_LEEWAY_SECONDS) {
      return `The bearer token is not valid yet (${claim} in the future)`;
    }
  }
  return null;
}

/**
 * Verifies the bearer token: against the provider's JWKS with its issuer and audience, or,
 * only where DEV_LOGIN = "true" and no JWKS is configured, HS256 with AUTH_SECRET (local
 * tokens). Fails closed: a JWKS without issuer or audience, or a production worker without
 * a JWKS, is a configuration error (503), never a check silently skipped.
 */
export async function verifiedSub(env: Env, token: string): Promise<string> {
  const jwks = env.AUTH_JWKS_URL;
  if (jwks && (!env.AUTH_ISSUER || !env.AUTH_AUDIENCE)) {
    throw new HttpError(
      503,
      "misconfigured",
      "AUTH_JWKS_URL is set but AUTH_ISSUER or AUTH_AUDIENCE is empty: tokens cannot be checked",
    );
  }
  if (!jwks && isProduction(env)) {
    throw new HttpError(503, "misconfigured", "AUTH_JWKS_URL is not set: tokens cannot be checked");
  }
  let payload: Record<string, unknown>;
  try {
    payload = jwks
      ? await verifyWithJwks(
          token,
          {
            jwks_uri: jwks,
            allowedAlgorithms: ["RS256", "ES256", "EdDSA"],
            verification: {
              iss: env.AUTH_ISSUER,
              aud: env.AUTH_AUDIENCE,
              typ: typOption(token),
              ...NO_TIME_CHECKS,
            },
          },
          // Key sets change rarely: let the edge cache them.
          { cf: { cacheTtl: 600, cacheEverything: true } },
        )
      : await verify(token, env.AUTH_SECRET, { alg: "HS256", ...NO_TIME_CHECKS });
  } catch {
    throw new Unauthorized("The bearer token is invalid or expired");
  }
  // After the signature: claims of an unverified token mean nothing.
  const problem = timeProblem(payload, Math.floor(Date.now() / 1000));
  if (problem) throw new Unauthorized(problem);
  const sub = payload.sub;
  if (typeof sub !== "string" || sub.length === 0 || sub.length > 255) {
    throw new Unauthorized("The bearer token has no subject");
  }
  return sub;
}

/**
 * `sub` → user id, per isolate. A user row is never updated or deleted, so an id once
 * read stays right for as long as the isolate lives, and every authenticated request
 * after the first saves a D1 round trip. Bounded: the oldest entry goes first.
 */
const userIds = new Map<string, string>();
const USER_ID_CACHE_SIZE = 10_000;

function remember(sub: string, id: string): string {
  if (userIds.size >= USER_ID_CACHE_SIZE) {
    const oldest = userIds.keys().next();
    if (!oldest.done) userIds.delete(oldest.value);
  }
  userIds.set(sub, id);
  return id;
}

/**
 * Maps a JWT `sub` to the opaque internal user id, creating it on first sight: in the
 * directory (the subject's id), then placed in a shard (`placeUser`, idempotent, so a
 * first request that died half-way is completed by the next one).
 */
export async function userIdFor(env: Env, sub: string): Promise<string> {
  const cached = userIds.get(sub);
  if (cached) return cached;
  const d = directoryOf(env).db;
  const found = await d.select({ id: users.id }).from(users).where(eq(users.sub, sub));
  if (!found[0]) {
    await d
      .insert(users)
      .values({ id: crypto.randomUUID(), sub, createdAt: Date.now() })
      .onConflictDoNothing();
  }
  const [user] = found[0]
    ? found
    : await d.select({ id: users.id }).from(users).where(eq(users.sub, sub));
  if (!user) throw new Error("user row missing after insert");
  await placeUser(env, user.id, sub);
  return remember(sub, user.id);
}

/** The bearer token of the request, or null when there is none. */
export function bearerToken(authorization: string | undefined): string | null {
  return /^Bearer\s+(\S+)$/i.exec(authorization ?? "")?.[1] ?? null;
}

export const requireUser = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header("Authorization"));
  if (!token) throw new Unauthorized();
  const sub = await verifiedSub(c.env, token);
  c.set("sub", sub);
  c.set("uid", await userIdFor(c.env, sub));
  await next();
});

/** A local HS256 token (dev login, `npm run token`). */
export function devToken(
  secret: string,
  user: string,
  ttlSeconds = 7 * 24 * 3600,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign({ sub: user, iat: now, exp: now + ttlSeconds }, secret, "HS256");
}
