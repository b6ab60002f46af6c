import { users } from "@darkroom/shared/db";
import { eq } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { decode, sign, verify, verifyWithJwks } from "hono/jwt";
import { Unauthorized } from "./errors";
import { db } from "./lib/db";
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

/** Verifies the bearer token: JWKS in production, HS256 with AUTH_SECRET locally. */
export async function verifiedSub(env: Env, token: string): Promise<string> {
  let payload: Record<string, unknown>;
  try {
    payload = env.AUTH_JWKS_URL
      ? await verifyWithJwks(
          token,
          {
            jwks_uri: env.AUTH_JWKS_URL,
            allowedAlgorithms: ["RS256", "ES256", "EdDSA"],
            verification: {
              iss: env.AUTH_ISSUER || undefined,
              aud: env.AUTH_AUDIENCE || undefined,
              typ: typOption(token),
            },
          },
          // Key sets change rarely: let the edge cache them.
          { cf: { cacheTtl: 600, cacheEverything: true } },
        )
      : await verify(token, env.AUTH_SECRET, "HS256");
  } catch {
    throw new Unauthorized("The bearer token is invalid or expired");
  }
  // hono checks `exp` only when the token has one. A provider's token without it would
  // stay valid forever, even after the user is removed there: refuse it (RFC 9068 makes
  // `exp` required for access tokens). Local HS256 tokens are always minted with one.
  if (env.AUTH_JWKS_URL && typeof payload.exp !== "number") {
    throw new Unauthorized("The bearer token has no expiry (exp)");
  }
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

/** Maps a JWT `sub` to the opaque internal user id, creating it on first sight. */
export async function userIdFor(env: Env, sub: string): Promise<string> {
  const cached = userIds.get(sub);
  if (cached) return cached;
  const d = db(env);
  const found = await d.select({ id: users.id }).from(users).where(eq(users.sub, sub));
  if (found[0]) return remember(sub, found[0].id);
  await d
    .insert(users)
    .values({ id: crypto.randomUUID(), sub, createdAt: Date.now() })
    .onConflictDoNothing();
  const created = await d.select({ id: users.id }).from(users).where(eq(users.sub, sub));
  if (!created[0]) throw new Error("user row missing after insert");
  return remember(sub, created[0].id);
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
