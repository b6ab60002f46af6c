import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without declarations
import { readConfigs, readUploadCors } from "../../scripts/lib/deploy-config.mjs";
// @ts-expect-error plain ESM script without declarations
import { LOCAL_S3_PATH, localS3Credentials } from "../../scripts/lib/local-s3.mjs";
// @ts-expect-error plain ESM script without declarations
import { freePort, login, startStack } from "../../scripts/lib/stack.mjs";
import { config } from "../../workers/api/src/lib/config/config";
import { signUpload } from "../../workers/api/src/lib/signing/upload-urls";
import {
  freshPage,
  hasChromium,
  launchBrowser,
  seededPng,
  signIn,
  waitForCount,
  writeImages,
} from "./kit";

// The production upload path (UPLOAD_MODE=r2) from Debian's Chromium, cross-origin:
// the page on http://localhost:PORT asks the api for presigned S3 PutObject URLs, signed
// by the production code (workers/api/src/lib/signing/upload-urls.ts, aws4fetch SigV4 over
// Content-Type, Content-Length, x-amz-checksum-sha256 and If-None-Match: *), and PUTs
// straight to the bucket's S3 endpoint on http://127.0.0.1:PORT, a different origin.
//
// The S3 server is wrangler dev's own local S3 endpoint for R2 (miniflare's R2 S3 handler,
// workers-sdk packages/miniflare/src/workers/r2/s3/, "local_dev.experimental_s3_credentials";
// https://developers.cloudflare.com/r2/local-development/). Chosen over s3rver or another
// S3 server because it writes to the very local bucket the workers read through their R2
// binding (no copying between two stores), answers with R2's own XML error codes, verifies
// SigV4 presigned URLs (signed headers, signature, X-Amz-Expires), honours If-None-Match
// through R2's conditional put, and comes with the wrangler the repo already pins: no
// extra server to install in CI.
//
// What it cannot check, and R2 does:
// - x-amz-checksum-sha256 against the body. R2 refuses a body whose SHA-256 differs from
//   the header (BadDigest; https://developers.cloudflare.com/r2/api/s3/api/ lists the
//   checksum headers of PutObject); the local endpoint verifies only Content-MD5, so
//   same-length different bytes with the right headers would be stored here. A WRONG
//   checksum HEADER is still refused here, because the header is signed.
// - The bucket's CORS rule: the local endpoint allows any origin (hono cors "*"), so the
//   test checks what it can: every header Chromium sent is in the rule that
//   `npm run deploy` applies, and the preflight + PUT pass from another origin.
// - Event notifications: wrangler dev sends none. In production R2's object-create
//   notification puts the message on `darkroom-uploads`; here the test watches each PUT
//   that the S3 endpoint accepted and posts its key to POST /api/dev/r2-notification
//   (dev only), which sends the message R2 would send for the object as it is in the bucket.

type Stack = { url: string; stop: () => Promise<void> };
type Upload = { url: string; method: string; headers: Record<string, string>; expiresAt: string };
type PlannedFile = { clientId: string; assetId: string; status: string; upload?: Upload };

let stack: Stack | undefined;
let port = 0;
let s3Origin = "";
let pageOrigin = "";
let imagesDir = "";
let profileDir = "";
let persistent: BrowserContext | undefined;
const makeImages = (prefix: string, n: number) => writeImages(imagesDir, prefix, n, "r2-");
/** Keys the S3 endpoint stored, in order: what R2's notifications would have reported. */
const notified: string[] = [];
let notifierToken: Promise<string> | undefined;

describe.skipIf(!hasChromium)("production upload path (presigned PUT to R2's S3 API)", () => {
  beforeAll(async () => {
    port = await freePort();
    pageOrigin = `http://localhost:${port}`;
    s3Origin = `http://127.0.0.1:${port}`;
    imagesDir = mkdtempSync(path.join(tmpdir(), "darkroom-r2-images-"));
    profileDir = mkdtempSync(path.join(tmpdir(), "darkroom-r2-profile-"));
    stack = await startStack({
      port,
      sweepSeconds: 5,
      env: { DARKROOM_UPLOAD_MODE: "r2", DARKROOM_UPLOAD_ORIGIN: s3Origin },
    });
    persistent = await launchBrowser(profileDir);
  });

  afterAll(async () => {
    await persistent?.close().catch(() => {});
    await stack?.stop();
    for (const d of [imagesDir, profileDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it("uploads photos from the page straight to the bucket and takes each one to ready", async () => {
    const files = await makeImages("ok", 3);
    const page = await newPage();
    // allHeaders(): the headers as sent on the wire, Origin included.
    const puts: Promise<{ url: string; headers: Record<string, string> }>[] = [];
    page.on("request", (req) => {
      if (req.method() === "PUT" && isS3(req.url())) {
        puts.push(req.allHeaders().then((headers) => ({ url: req.url(), headers })));
      }
    });
    const preflights: { origin: string; method: string; headers: string }[] = [];
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Network.enable");
    cdp.on("Network.requestWillBeSent", (e) => {
      const h = e.request.headers;
      if (e.request.method === "OPTIONS" && isS3(e.request.url)) {
        preflights.push({
          origin: String(h.Origin ?? h.origin ?? ""),
          method: String(h["Access-Control-Request-Method"] ?? ""),
          headers: String(h["Access-Control-Request-Headers"] ?? ""),
        });
      }
    });
    await signIn(page, "r2-alice");
    await page.getByTestId("file-input").setInputFiles(files);
    await waitForCount(page, "searchable", "3 / 3");

    // Straight to the S3 endpoint, cross-origin, with the production signature.
    expect(puts).toHaveLength(3);
    for (const put of await Promise.all(puts)) {
      const u = new URL(put.url);
      expect(u.origin).toBe(s3Origin);
      expect(u.pathname).toMatch(new RegExp(`^${LOCAL_S3_PATH}/darkroom-originals/u/`));
      expect(u.searchParams.get("X-Amz-SignedHeaders")).toBe(
        "content-length;content-type;host;if-none-match;x-amz-checksum-sha256",
      );
      expect(put.headers.origin).toBe(pageOrigin);
      expect(put.headers["if-none-match"]).toBe("*");
    }
    expect(notified.length).toBeGreaterThanOrEqual(3);

    // The local endpoint allows every origin; R2 applies the bucket's rule, which
    // `npm run deploy` generates from CORS_ALLOWED_ORIGINS and upload-cors.json. What
    // Chromium's preflights asked for (read from the DevTools protocol, which reports
    // preflights as their own requests) must be in it, or production's preflight fails
    // where this one passed.
    const { rule } = readUploadCors();
    expect(preflights.length).toBeGreaterThanOrEqual(1);
    for (const p of preflights) {
      expect(p.origin).toBe(pageOrigin);
      expect(rule.allowed.methods).toContain(p.method);
      const asked = p.headers.split(",").map((h) => h.trim().toLowerCase());
      expect(asked.sort()).toEqual(["content-type", "if-none-match", "x-amz-checksum-sha256"]);
      for (const h of asked) expect(rule.allowed.headers).toContain(h);
    }
    expect(rule.allowed.methods).toContain("PUT");
    await page.close();
  });

  it("refuses a wrong length, type or checksum header, an expired URL and a second PUT; stores only the right one", async () => {
    const page = await newPage();
    const token = await login(stack?.url, "r2-bob");
    const bytes = await seededPng("r2-refused0");
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const planned = await planUpload(token, { name: "refused.png", bytes, sha256 });
    const upload = planned.upload;
    if (!upload) throw new Error(`no upload URL: ${JSON.stringify(planned)}`);

    const put = (init: { url?: string; headers?: Record<string, string>; body?: Buffer }) =>
      putFromPage(
        page,
        init.url ?? upload.url,
        { ...upload.headers, ...init.headers },
        init.body ?? bytes,
      );

    // Content-Length is signed: a body one byte longer (or shorter) changes it.
    const longer = await put({ body: Buffer.concat([bytes, Buffer.from([0])]) });
    expect(longer).toMatchObject({ status: 403, code: "SignatureDoesNotMatch" });
    const shorter = await put({ body: bytes.subarray(1) });
    expect(shorter).toMatchObject({ status: 403, code: "SignatureDoesNotMatch" });
    // Content-Type is signed.
    const type = await put({ headers: { "Content-Type": "image/jpeg" } });
    expect(type).toMatchObject({ status: 403, code: "SignatureDoesNotMatch" });
    // x-amz-checksum-sha256 is signed: another file's checksum is refused before the body
    // is looked at. (That the body matches the header is R2's check, not this server's.)
    const otherSum = createHash("sha256").update("another file").digest("base64");
    const checksum = await put({ headers: { "x-amz-checksum-sha256": otherSum } });
    expect(checksum).toMatchObject({ status: 403, code: "SignatureDoesNotMatch" });
    // If-None-Match is signed too: a PUT that drops it cannot overwrite.
    const noCondition = await put({ headers: { "If-None-Match": "" } });
    expect(noCondition.status).toBe(403);

    // Expired: the same production signing code, run 16 minutes ago (URLs live 15).
    const key = objectKey(upload.url);
    const expired = await signedUrl(
      { assetId: planned.assetId, key, type: "image/png", size: bytes.length, sha256 },
      Date.now() - 16 * 60_000,
    );
    const late = await put({ url: expired });
    // Here `ExpiredRequest`; R2's docs have shown the same "Request has expired" under
    // `AccessDenied` too, and the shared classification renews on either.
    expect(late).toMatchObject({ status: 403, code: "ExpiredRequest" });
    expect(late.message).toMatch(/expired/i);

    // Every answer above was readable cross-origin (CORS on error answers), and nothing
    // was stored: the right PUT is the first to land...
    const right = await put({});
    expect(right).toMatchObject({ status: 200 });
    // ...and a second one, even perfectly signed, is refused by If-None-Match: *.
    const again = await put({});
    expect(again).toMatchObject({ status: 412, code: "PreconditionFailed" });

    await notify(key);
    await expect
      .poll(async () => (await assetJson(token, planned.assetId)).status, {
        timeout: 120_000,
        interval: 500,
      })
      .toBe("ready");
    await page.close();
  });

  it("recovers from each refusal as the shared classification says, and gives up within its budget", {
    timeout: 240_000,
  }, async () => {
    // One batch, one fault per file, injected on the wire between Chromium and the S3
    // endpoint (the endpoint itself judges every PUT that reaches it):
    const faults: Record<string, "first" | "always"> = {
      "length.png": "first", // body one byte longer: Content-Length no longer matches
      "type.png": "first", // Content-Type changed
      "checksum.png": "first", // another file's x-amz-checksum-sha256
      "expired.png": "first", // the API's answer carries a URL signed 16 minutes ago
      "lost-answer.png": "first", // stored, then the connection drops before the answer
      "network.png": "first", // the connection drops, nothing stored
      "always-refused.png": "always", // every URL refused: the renewal budget ends it
      "never-reaches.png": "always", // the network never carries it: the retry budget ends it
    };
    const names = [...Object.keys(faults), "clean.png"];
    const files = names.map((n) => path.join(imagesDir, `recover-${n}`));
    const bytesOf = new Map<string, Buffer>();
    for (const [i, f] of files.entries()) {
      const bytes = await seededPng(`r2-recover${i}`);
      writeFileSync(f, bytes);
      bytesOf.set(names[i] ?? "", bytes);
    }
    const nameOf = (file: string) => file.replace(/^recover-/, "");

    const page = await newPage();
    const byAsset = new Map<string, string>();
    const outcomes = new Map<string, string[]>();
    const record = (assetId: string, what: string) => {
      const name = byAsset.get(assetId) ?? assetId;
      outcomes.set(name, [...(outcomes.get(name) ?? []), what]);
    };
    let expiredServed = false;
    await page.route(`${pageOrigin}/api/uploads`, async (route) => {
      const req = route.request();
      if (req.method() !== "POST") return route.continue();
      const sent = req.postDataJSON() as {
        files: { clientId: string; name: string; size: number; type: string; sha256: string }[];
      };
      const res = await route.fetch();
      const body = (await res.json()) as { files: PlannedFile[] };
      for (const f of body.files) {
        const file = sent.files.find((x) => x.clientId === f.clientId);
        if (!file) continue;
        byAsset.set(f.assetId, nameOf(file.name));
        if (nameOf(file.name) === "expired.png" && f.upload && !expiredServed) {
          expiredServed = true;
          const target = {
            assetId: f.assetId,
            key: objectKey(f.upload.url),
            type: file.type,
            size: file.size,
            sha256: file.sha256,
          };
          // expiresAt stays as the API said: the page cannot know the URL is dead.
          f.upload.url = await signedUrl(target, Date.now() - 16 * 60_000);
        }
      }
      await route.fulfill({ response: res, json: body });
    });
    // Every PUT goes out through route.fetch (Chromium's method, URL and headers, plus the
    // fault), so the test reads each answer's S3 XML code, in order, before handing the
    // answer back to the page. The body is the file's bytes as the test wrote them:
    // Playwright cannot read an XHR's Blob body back from an intercepted request.
    const attempts = new Map<string, number>();
    await page.route(`${s3Origin}${LOCAL_S3_PATH}/**`, async (route) => {
      const req = route.request();
      if (req.method() !== "PUT") return route.continue();
      const key = objectKey(req.url());
      const assetId = key.split("/")[2] ?? "";
      const name = byAsset.get(assetId) ?? "";
      const n = (attempts.get(name) ?? 0) + 1;
      attempts.set(name, n);
      const fault = faults[name];
      const faulty = fault === "always" || (fault === "first" && n === 1);
      const headers = await req.allHeaders();
      const bytes = bytesOf.get(name) ?? Buffer.alloc(0);
      let override: { headers: Record<string, string>; postData: Buffer } = {
        headers,
        postData: bytes,
      };
      if (faulty && name === "length.png") {
        // The length the wire says must match the body (else the endpoint reads a torn
        // request and answers 500 by chance): one byte more than was signed.
        override = {
          headers: { ...headers, "content-length": String(bytes.length + 1) },
          postData: Buffer.concat([bytes, Buffer.from([0])]),
        };
      } else if (faulty && (name === "type.png" || name === "always-refused.png")) {
        override = { headers: { ...headers, "content-type": "image/jpeg" }, postData: bytes };
      } else if (faulty && name === "checksum.png") {
        const other = createHash("sha256").update("another file").digest("base64");
        override = { headers: { ...headers, "x-amz-checksum-sha256": other }, postData: bytes };
      } else if (faulty && (name === "network.png" || name === "never-reaches.png")) {
        record(assetId, "connection reset");
        return route.abort("connectionreset");
      }
      // The local endpoint may refuse a request before it has read the body, then close
      // the connection (Playwright's fetch, unlike Chromium's own network stack, fails
      // with ECONNRESET while still sending) or answer 500 for the torn request. Those
      // are the emulator's, not R2's: ask again with the same request, since the refusal
      // is what the page must see. Should it keep failing, the page gets a reset rather
      // than a request that never ends.
      let res: Awaited<ReturnType<typeof route.fetch>> | undefined;
      for (let tries = 0; tries < 5; tries++) {
        try {
          res = await route.fetch(override);
        } catch (err) {
          if (!/ECONNRESET|socket hang up/.test(String(err))) throw err;
          res = undefined;
          continue;
        }
        if (!(faulty && res.status() >= 500)) break;
      }
      if (!res) {
        record(assetId, "connection reset by the endpoint");
        return route.abort("connectionreset");
      }
      const body = res.status() === 200 ? "" : await res.text();
      const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
      if (res.status() === 200) await notify(key);
      if (faulty && name === "lost-answer.png") {
        record(assetId, `${res.status()} answer lost`);
        return route.abort("connectionreset");
      }
      record(assetId, code ? `${res.status()} ${code}` : `${res.status()}`);
      return route.fulfill({ response: res });
    });

    await signIn(page, "r2-carol");
    await page.getByTestId("file-input").setInputFiles(files);
    try {
      await waitForCount(page, "searchable", "7 / 9");
      await expect.poll(() => page.getByTestId("failure").count(), { timeout: 60_000 }).toBe(2);
    } catch (err) {
      const failures = await page.getByTestId("failure").allTextContents();
      throw new Error(
        `${String(err)}\nPUTs: ${JSON.stringify(Object.fromEntries(outcomes))}\nfailures: ${JSON.stringify(failures)}`,
      );
    }

    const seen = Object.fromEntries(outcomes);
    // A refused signature (length, type, checksum header): a fresh URL, then the right PUT.
    for (const n of ["length.png", "type.png", "checksum.png"]) {
      expect(seen[n], n).toEqual(["403 SignatureDoesNotMatch", "200"]);
    }
    // Expired: renewed (re-POST) and PUT again.
    expect(seen["expired.png"]).toEqual(["403 ExpiredRequest", "200"]);
    // The PUT landed but its answer was lost: the retry meets If-None-Match (412), the
    // page asks the API, which has the object, and counts the file done: no third PUT.
    expect(seen["lost-answer.png"]).toEqual(["200 answer lost", "412 PreconditionFailed"]);
    // A dropped connection: the same URL again after a backoff.
    expect(seen["network.png"]).toEqual(["connection reset", "200"]);
    expect(seen["clean.png"]).toEqual(["200"]);
    // Bounded: 1 + 3 renewals, 1 + 5 retries (DEFAULT_RETRY_POLICY), then a failure the
    // person can read.
    expect(seen["always-refused.png"]).toEqual(Array(4).fill("403 SignatureDoesNotMatch"));
    expect(seen["never-reaches.png"]).toEqual(Array(6).fill("connection reset"));
    const failures = await page.getByTestId("failure").allTextContents();
    expect(failures.find((f) => f.includes("always-refused.png"))).toMatch(/SignatureDoesNotMatch/);
    expect(failures.find((f) => f.includes("never-reaches.png"))).toMatch(/network|connection/i);
    await page.close();
  });
});

/** Signs like the api does in production (same function), for this stack's local bucket. */
async function signedUrl(
  target: { assetId: string; key: string; type: string; size: number; sha256: string },
  now: number,
): Promise<string> {
  const keys = localS3Credentials();
  const env = { R2_ACCESS_KEY_ID: keys.accessKeyId, R2_SECRET_ACCESS_KEY: keys.secretAccessKey };
  // The api's own [vars] from wrangler.toml, switched to r2 as `npm run dev` does here.
  const vars = readConfigs().find((c: { name: string }) => c.name === "api")?.toml.vars;
  const cfg = config({
    ...vars,
    UPLOAD_MODE: "r2",
    R2_S3_ENDPOINT: `${s3Origin}${LOCAL_S3_PATH}`,
  } as unknown as Env);
  const ticket = await signUpload(env as unknown as Env, cfg, pageOrigin, target, now);
  return ticket.url;
}

function isS3(url: string): boolean {
  return url.startsWith(`${s3Origin}${LOCAL_S3_PATH}/`);
}

function objectKey(url: string): string {
  const prefix = `${LOCAL_S3_PATH}/darkroom-originals/`;
  return decodeURIComponent(new URL(url).pathname.slice(prefix.length));
}

/** What R2's object-create notification does in production (see the top of this file). */
async function notify(key: string): Promise<void> {
  if (notified.includes(key)) return;
  notified.push(key);
  // The dev route requires a signed-in user, like every /api/dev route but the sign-in.
  notifierToken ??= login(stack?.url, "r2-notifier");
  const res = await fetch(`${stack?.url}/api/dev/r2-notification`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${await notifierToken}` },
    body: JSON.stringify({ key }),
  });
  if (res.status !== 202) throw new Error(`notification for ${key}: ${res.status}`);
}

async function planUpload(
  token: string,
  file: { name: string; bytes: Buffer; sha256: string },
): Promise<PlannedFile> {
  const res = await fetch(`${stack?.url}/api/uploads`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify({
      files: [
        {
          clientId: crypto.randomUUID(),
          name: file.name,
          size: file.bytes.length,
          type: "image/png",
          sha256: file.sha256,
        },
      ],
    }),
  });
  const body = (await res.json()) as { files: PlannedFile[] };
  if (res.status !== 200 || !body.files[0]) throw new Error(`POST /api/uploads: ${res.status}`);
  return body.files[0];
}

async function assetJson(token: string, assetId: string): Promise<{ status?: string }> {
  const res = await fetch(`${stack?.url}/api/assets/${assetId}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  return (await res.json()) as { status?: string };
}

/** A PUT from the page's origin with fetch, as the page would send it; R2's XML parsed. */
async function putFromPage(
  page: Page,
  url: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<{ status: number; code: string; message: string }> {
  const sent = Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== ""));
  const res = await page.evaluate(
    async ({ url, headers, b64 }) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      try {
        const r = await fetch(url, { method: "PUT", headers, body: bytes });
        return { status: r.status, text: await r.text() };
      } catch (err) {
        return { status: 0, text: String(err) };
      }
    },
    { url, headers: sent, b64: body.toString("base64") },
  );
  if (res.status === 200) await notify(objectKey(url));
  const code = /<Code>([^<]*)<\/Code>/.exec(res.text)?.[1] ?? "";
  const message = /<Message>([^<]*)<\/Message>/.exec(res.text)?.[1] ?? res.text;
  return { status: res.status, code, message };
}

function newPage(): Promise<Page> {
  // The bridge for the page's own PUTs: every object the S3 endpoint accepted is notified.
  return freshPage(persistent, pageOrigin, (page) =>
    page.on("response", (res) => {
      if (res.request().method() === "PUT" && isS3(res.url()) && res.status() === 200) {
        void notify(objectKey(res.url())).catch((err) => console.error(String(err)));
      }
    }),
  );
}

/** A distinct small PNG per (prefix, i): random pixels from a seeded generator. */
