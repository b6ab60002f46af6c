import {
  createExecutionContext,
  evictDurableObject,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { UploadResponse } from "@darkroom/shared";
import { everyShard, withShards } from "../../../test/workerd/shards";
import app from "../src/app";
import { devToken } from "../src/auth";

/** D1 in production refuses statements with more than 100 bound parameters; local SQLite does not. */
export const D1_MAX_PARAMS = 100;

export class TooManyParams extends Error {}

/** Wraps D1 so any statement bound with more than 100 parameters fails, as it would in production. */
export function guardD1(db: D1Database): D1Database {
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop === "prepare") {
        return (query: string) => {
          const stmt = target.prepare(query);
          const bind = stmt.bind.bind(stmt);
          stmt.bind = (...values: unknown[]) => {
            if (values.length > D1_MAX_PARAMS) {
              throw new TooManyParams(
                `statement has ${values.length} bound parameters (max ${D1_MAX_PARAMS}): ${query.slice(0, 80)}`,
              );
            }
            return bind(...values);
          };
          return stmt;
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

export type Sent = { queue: string; body: unknown };

/** Records what the worker sends to its queues, then forwards to the real binding. */
function recordingQueue(name: string, queue: Queue, log: Sent[]): Queue {
  return new Proxy(queue, {
    get(target, prop, receiver) {
      if (prop === "send") {
        return (body: unknown, opts?: QueueSendOptions) => {
          log.push({ queue: name, body });
          return target.send(body, opts);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * The test env with recording queues. `vars` sets vars wrangler.toml leaves to their
 * defaults in code (not in `Env`, so not in `overrides`).
 */
export function makeEnv(
  overrides: Partial<Env> = {},
  vars: Record<string, string> = {},
): { env: Env; sent: Sent[] } {
  const sent: Sent[] = [];
  return {
    sent,
    env: {
      ...withShards(env, guardD1),
      DIRECTORY: guardD1(env.DIRECTORY),
      UPLOADS_QUEUE: recordingQueue("uploads", env.UPLOADS_QUEUE, sent),
      EMBED_QUEUE: recordingQueue("embed", env.EMBED_QUEUE, sent),
      ...overrides,
      ...vars,
    },
  };
}

const ORIGIN = "https://darkroom.test";

/** The identity provider of the production configuration below (auth-jwks.test.ts serves its key set). */
export const IDP = {
  jwksUrl: "https://idp.darkroom.test/.well-known/jwks.json",
  issuer: "https://idp.darkroom.test/",
  audience: "darkroom",
};

/**
 * A complete, valid production configuration: every item of PRODUCTION_SECRETS and
 * PRODUCTION_VARS (packages/shared/src/production-requirements.mjs) with a value the
 * check accepts. Tests remove or spoil one item at a time.
 */
export const PRODUCTION_CONFIG: Record<string, string> = {
  DEV_LOGIN: "false",
  UPLOAD_MODE: "r2",
  AUTH_JWKS_URL: IDP.jwksUrl,
  AUTH_ISSUER: IDP.issuer,
  AUTH_AUDIENCE: IDP.audience,
  R2_ACCOUNT_ID: "0123456789abcdef0123456789abcdef",
  CORS_ALLOWED_ORIGINS: ORIGIN,
  // The shards the tests bind (wrangler.toml's local two).
  DB_SHARDS: "2",
  MEDIA_SIGNING_SECRET: "test-production-media-signing-secret-0123456789",
  TICKET_SIGNING_SECRET: "test-production-ticket-signing-secret-0123456789",
  R2_ACCESS_KEY_ID: "fedcba9876543210fedcba9876543210",
  R2_SECRET_ACCESS_KEY: "0f".repeat(32),
};

/** The test env configured for production, with `changes` applied (undefined removes an item). */
export function productionEnv(changes: Record<string, string | undefined> = {}): {
  env: Env;
  sent: Sent[];
} {
  const made = makeEnv({}, PRODUCTION_CONFIG);
  const e: Record<string, unknown> = { ...made.env };
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) delete e[name];
    else e[name] = value;
  }
  // The production worker has no AUTH_SECRET/UPLOAD_SIGNING_SECRET: it never reads them.
  if (!("AUTH_SECRET" in changes)) delete e.AUTH_SECRET;
  if (!("UPLOAD_SIGNING_SECRET" in changes)) delete e.UPLOAD_SIGNING_SECRET;
  return { env: e as unknown as Env, sent: made.sent };
}

/** Calls the api app in this isolate with the given env, waiting for its background work. */
export async function call(
  path: string,
  init: RequestInit & { token?: string; env?: Env } = {},
): Promise<Response> {
  const { token, env: e, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  const url = path.startsWith("http") ? path : ORIGIN + path;
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(url, { ...rest, headers }), e ?? makeEnv().env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

export function json(body: unknown, init: RequestInit & { token?: string; env?: Env } = {}) {
  return {
    method: "POST",
    ...init,
    body: JSON.stringify(body),
    headers: { "Content-Type": "application/json" },
  };
}

export function tokenFor(user: string): Promise<string> {
  return devToken(env.AUTH_SECRET, user);
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

let counter = 0;
/** Distinct bytes that sniff as a JPEG. */
export function jpegBytes(size = 64): Uint8Array {
  counter += 1;
  const bytes = new Uint8Array(size);
  bytes.set([0xff, 0xd8, 0xff, 0xe0]);
  // Unique content in the first bytes, so even small files never collide.
  const tag = new TextEncoder().encode(`${counter.toString(36)}-${crypto.randomUUID()}`);
  bytes.set(tag.subarray(0, Math.max(0, size - 4)), 4);
  return bytes;
}

export async function fileFor(bytes: Uint8Array, name = "photo.jpg", type = "image/jpeg") {
  return {
    clientId: crypto.randomUUID(),
    name,
    size: bytes.byteLength,
    type,
    sha256: await sha256Hex(bytes),
  };
}

export async function requestUploads(
  token: string,
  files: unknown[],
  extra: { batchId?: string; env?: Env } = {},
): Promise<{ res: Response; body: UploadResponse }> {
  const res = await call(
    "/api/uploads",
    json({ files, batchId: extra.batchId }, { token, env: extra.env }),
  );
  const body: UploadResponse = await res.clone().json();
  return { res, body };
}

/** PUTs bytes to a local upload URL with exactly the headers the API asked for. */
export async function putUpload(
  upload: { url: string; headers: Record<string, string> },
  bytes: Uint8Array,
  opts: { headers?: Record<string, string>; env?: Env } = {},
): Promise<Response> {
  return call(upload.url, {
    method: "PUT",
    body: bytes,
    headers: { ...upload.headers, "Content-Length": String(bytes.byteLength), ...opts.headers },
    env: opts.env,
  });
}

export async function uidFor(user: string): Promise<string> {
  const row = await env.DIRECTORY.prepare("SELECT id FROM users WHERE sub = ?")
    .bind(user)
    .first<{ id: string }>();
  if (!row) throw new Error(`no user ${user}`);
  return row.id;
}

export async function setStatus(assetId: string, status: string) {
  await everyShard
    .prepare("UPDATE assets SET status = ?, version = version + 1 WHERE id = ?")
    .bind(status, assetId)
    .run();
}

export function userName(prefix = "user"): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

/** A signed-in user: the token, and the internal id its first request created. */
export async function signIn(
  user = userName(),
): Promise<{ user: string; token: string; uid: string }> {
  const token = await tokenFor(user);
  const res = await call("/api/stats", { token });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status}`);
  return { user, token, uid: await uidFor(user) };
}

/** Empties one of the user's hub buckets (as if spent just now); the hub reloads it. */
export async function drainBucket(uid: string, bucket: string): Promise<void> {
  const stub = env.USER_HUB.get(env.USER_HUB.idFromName(uid));
  await runInDurableObject(stub, (_hub, state) => {
    // Refilled "an hour from now": the bucket gives nothing back before the next request
    // however slow the machine is (a refill never runs backwards), and that request's take
    // moves the mark to its own time, so everything after it is the real bucket again.
    state.storage.sql.exec(
      `INSERT INTO buckets (name, tokens, refilled_at) VALUES (?, 0, ?)
       ON CONFLICT(name) DO UPDATE SET tokens = 0, refilled_at = excluded.refilled_at`,
      bucket,
      Date.now() + 3_600_000,
    );
  });
  await evictDurableObject(stub);
}

/** A JSON-looking body of `total` bytes, produced only as far as the reader pulls it. */
export function countedBody(total: number, chunk = 64 * 1024) {
  const pulled = { bytes: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled.bytes >= total) return controller.close();
      const n = Math.min(chunk, total - pulled.bytes);
      const bytes = new Uint8Array(n).fill(0x20);
      if (pulled.bytes === 0) bytes.set(new TextEncoder().encode('{"files":['));
      pulled.bytes += n;
      controller.enqueue(bytes);
    },
  });
  return { stream, pulled };
}

/**
 * Whole tokens a bucket refilling `perMinute` can have given back since now: a bound for
 * RateLimit-Remaining across several requests, which real seconds pass between.
 */
export function refillSince(perMinute: number): () => number {
  const started = Date.now();
  return () => Math.ceil(((Date.now() - started) / 60_000) * perMinute);
}
