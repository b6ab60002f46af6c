import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PRODUCTION_SECRETS } from "@darkroom/shared/production-requirements";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without declarations
import { foreignKey, issuedToken, readIssuer, signToken } from "../../scripts/lib/local-issuer.mjs";
// @ts-expect-error plain ESM script without declarations
import { LOCAL_S3_PATH } from "../../scripts/lib/local-s3.mjs";
// @ts-expect-error plain ESM script without declarations
import { freePort, startStack } from "../../scripts/lib/stack.mjs";
import { freshPage, hasChromium, launchBrowser, text, waitForCount } from "./kit";

// The acceptance suite of the production configuration (issue 19): everything below runs
// against `npm run dev:prod`, the three workers started from their [env.production] with
// exactly the production secrets, DEV_LOGIN = "false", UPLOAD_MODE = "r2", a local
// OpenID-style issuer (ES256 JWKS) and wrangler's local S3 endpoint
// (scripts/lib/parity-config.mjs lists every difference from production). The page is on
// http://localhost:PORT, the S3 endpoint on http://127.0.0.1:PORT: every PUT is
// cross-origin, as from the custom domain to R2.

const root = fileURLToPath(new URL("../..", import.meta.url));
const OPERATOR = "olga-operator";
/** A handful of real photos: JPEG, WebP, PNG. */
const PHOTOS = ["concert.jpg", "5_webp_a.webp", "Landscape_1.jpg", "blackbug.png"].map((f) =>
  path.join(root, "test/fixtures/images", f),
);

type Stack = { url: string; stop: () => Promise<void>; output: () => string };
let stack: Stack | undefined;
let stateDir = "";
let profileDir = "";
let port = 0;
let browser: BrowserContext | undefined;
const pageOrigin = () => `http://localhost:${port}`;
const s3Origin = () => `http://127.0.0.1:${port}`;
const token = (sub: string, options: object = {}): string => issuedToken(stateDir, sub, options);

async function signInWithToken(page: Page, jwt: string): Promise<void> {
  await page.getByTestId("jwt").fill(jwt);
  await page.getByRole("button", { name: "Use token" }).click();
  await page.getByTestId("dropzone").waitFor({ timeout: 30_000 });
}

function api(pathname: string, jwt: string | null, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (jwt) headers.set("Authorization", `Bearer ${jwt}`);
  return fetch(`${pageOrigin()}${pathname}`, { ...init, headers });
}

describe.skipIf(!hasChromium)("the production configuration (npm run dev:prod)", () => {
  beforeAll(async () => {
    port = await freePort();
    stateDir = mkdtempSync(path.join(tmpdir(), "darkroom-parity-state-"));
    profileDir = mkdtempSync(path.join(tmpdir(), "darkroom-parity-profile-"));
    stack = await startStack({
      script: "scripts/dev-prod.mjs",
      port,
      stateDir,
      sweepSeconds: 5,
      env: { OPERATOR_SUBS: OPERATOR },
    });
    browser = await launchBrowser(profileDir);
  });

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await stack?.stop();
    for (const d of [stateDir, profileDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it("signs in with an issuer token, PUTs the photos cross-origin to the S3 endpoint, streams progress to Searchable, resumes after a reload, and finds a photo", {
    timeout: 300_000,
  }, async () => {
    const page = await freshPage(browser, pageOrigin());
    const puts: Promise<{ url: string; origin: string; status: number }>[] = [];
    page.on("requestfinished", (req) => {
      if (req.method() === "PUT" && req.url().startsWith(`${s3Origin()}${LOCAL_S3_PATH}/`)) {
        puts.push(
          Promise.all([req.allHeaders(), req.response()]).then(([h, res]) => ({
            url: req.url(),
            origin: h.origin ?? "",
            status: res?.status() ?? 0,
          })),
        );
      }
    });
    let frames = 0;
    page.on("websocket", (ws) => {
      if (new URL(ws.url()).pathname === "/api/events") ws.on("framereceived", () => frames++);
    });

    // DEV_LOGIN is "false": the page's dev sign-in is refused, the token form remains.
    await signInWithToken(page, token("parity-alice"));
    await page.getByTestId("file-input").setInputFiles(PHOTOS);
    await waitForCount(page, "searchable", `${PHOTOS.length} / ${PHOTOS.length}`, 240_000);

    const sent = await Promise.all(puts);
    expect(sent).toHaveLength(PHOTOS.length);
    for (const put of sent) {
      expect(put.status).toBe(200);
      expect(new URL(put.url).origin).toBe(s3Origin());
      expect(put.origin).toBe(pageOrigin());
      // Presigned by the production code: SigV4 in the query, no app route involved.
      expect(new URL(put.url).searchParams.get("X-Amz-Algorithm")).toBe("AWS4-HMAC-SHA256");
    }
    // The counts came over the WebSocket (the page polls nothing).
    expect(frames).toBeGreaterThan(0);

    // A reload resumes the batch view from the server's state.
    await page.reload();
    await waitForCount(page, "searchable", `${PHOTOS.length} / ${PHOTOS.length}`, 60_000);

    // Search (text mode: no Workers AI offline) finds a photo by its name, in the page...
    await page.getByRole("button", { name: "Gallery" }).click();
    await page.getByTestId("search").fill("concert");
    await page.getByRole("button", { name: "Search" }).click();
    await expect
      .poll(() => text(page, "search-info"), { timeout: 60_000 })
      .toMatch(/^[1-9]\d* results for “concert” \(text search\)/);
    await expect.poll(() => page.locator('.tile[title="concert.jpg"]').count()).toBe(1);
    // ...and through the API, with the same token.
    const res = await api("/api/search?q=concert", token("parity-alice"));
    expect(res.status).toBe(200);
    const found = (await res.json()) as { mode: string; results: { asset: { name: string } }[] };
    expect(found.mode).toBe("text");
    expect(found.results.map((r) => r.asset.name)).toContain("concert.jpg");
    // Not an operator: no Ops tab.
    expect(await page.getByRole("button", { name: "Ops" }).count()).toBe(0);
    await page.close();
  });

  it("shows the Ops tab to an operator of OPERATOR_SUBS", async () => {
    const page = await freshPage(browser, pageOrigin());
    await signInWithToken(page, token(OPERATOR));
    await page.getByRole("button", { name: "Ops" }).click();
    await page.getByTestId("ops").waitFor({ timeout: 30_000 });
    await expect.poll(() => text(page, "ops-breaker"), { timeout: 30_000 }).toBe("closed");
    expect((await api("/api/ops/metrics", token(OPERATOR))).status).toBe(200);
    await page.close();
  });

  it("answers a non-operator 404 on every ops route", async () => {
    const jwt = token("parity-mallory");
    const id = crypto.randomUUID();
    for (const [method, route] of [
      ["GET", "/api/ops/metrics"],
      ["GET", `/api/ops/assets/${id}`],
      ["POST", "/api/ops/retry"],
    ] as const) {
      const res = await api(route, jwt, {
        method,
        ...(method === "POST"
          ? { body: "{}", headers: { "Content-Type": "application/json" } }
          : {}),
      });
      expect(res.status, `${method} ${route}`).toBe(404);
    }
  });

  it("bridges R2 notifications only for the holder of the bridge's token", async () => {
    // The bridge runs beside the stack (scripts/lib/r2-bridge.mjs); its address is logged.
    const bridge = /r2 notifications: bridged .* by (http:\/\/127\.0\.0\.1:\d+)/.exec(
      stack?.output() ?? "",
    )?.[1];
    expect(bridge).toBeDefined();
    const note = { key: "u/x/y/original", size: 1, eTag: "e" };
    for (const auth of [undefined, "Bearer wrong-token"]) {
      const res = await fetch(`${bridge}/notify`, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...(auth ? { Authorization: auth } : {}) },
        body: JSON.stringify(note),
      });
      expect(res.status, String(auth)).toBe(401);
    }
  });

  it("refuses with 401 a token with a wrong aud, without exp, or signed by a foreign key", async () => {
    const { issuer, audience } = readIssuer(stateDir) as { issuer: string; audience: string };
    // The issuer's own token passes: the refusals below are for what each one changes.
    expect((await api("/api/assets", token("parity-eve"))).status).toBe(200);
    const refused = {
      "wrong aud": token("parity-eve", { claims: { aud: `${audience}-other` } }),
      "no exp": token("parity-eve", { claims: { exp: undefined } }),
      "foreign key": signToken(foreignKey(), { iss: issuer, aud: audience, sub: "parity-eve" }),
      "wrong iss": token("parity-eve", { claims: { iss: "https://elsewhere.example/" } }),
      expired: token("parity-eve", { ttlSeconds: -3600 }),
    };
    for (const [what, jwt] of Object.entries(refused)) {
      const res = await api("/api/assets", jwt);
      expect(res.status, what).toBe(401);
    }
    // The dev sign-in does not exist in production.
    const dev = await api("/api/dev/login", null, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user: "parity-eve" }),
    });
    expect(dev.status).toBe(404);
  });
});

// Needs the workers' start-up validation of the production requirements (issue 19,
// branch i19a): a production-configured worker missing a secret answers
// 503 {error:{code:"misconfigured"}} naming it, never a 500 from inside a route.
const MISSING = "TICKET_SIGNING_SECRET";
describe("the production configuration with a secret left out", () => {
  let bare: Stack | undefined;
  let bareState = "";
  beforeAll(async () => {
    expect(PRODUCTION_SECRETS.map((s) => s.name)).toContain(MISSING);
    bareState = mkdtempSync(path.join(tmpdir(), "darkroom-parity-bare-"));
    bare = await startStack({
      script: "scripts/dev-prod.mjs",
      port: await freePort(),
      stateDir: bareState,
      sweepSeconds: 0,
      env: { DARKROOM_PROD_WITHOUT: MISSING },
    });
  });
  afterAll(async () => {
    await bare?.stop();
    if (bareState) rmSync(bareState, { recursive: true, force: true });
  });

  it(`answers 503 misconfigured naming ${MISSING}`, async () => {
    const jwt = issuedToken(bareState, "parity-frank");
    for (const [method, route] of [
      ["GET", "/api/assets"],
      ["POST", "/api/events/ticket"],
    ] as const) {
      const res = await fetch(`${bare?.url}${route}`, {
        method,
        headers: { Authorization: `Bearer ${jwt}` },
      });
      const body = (await res.json()) as { error?: { code?: string; message?: string } };
      expect(res.status, `${method} ${route}: ${JSON.stringify(body)}`).toBe(503);
      expect(body.error?.code).toBe("misconfigured");
      expect(body.error?.message).toContain(MISSING);
    }
  });

  it("stops with everything it started: wrangler, workerd, the bridge and the issuer", async () => {
    await bare?.stop();
    // Every process of the stack inherits DARKROOM_STATE_DIR (node, both wranglers, their
    // workerd and esbuild).
    const left = () =>
      readdirSync("/proc")
        .filter((e) => /^\d+$/.test(e))
        .filter((pid) => {
          try {
            const environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
            return environ.includes(`DARKROOM_STATE_DIR=${bareState}`);
          } catch {
            return false;
          }
        });
    // SIGKILLed processes take a moment to be reaped on a loaded machine.
    await expect.poll(left, { timeout: 30_000, interval: 250 }).toEqual([]);
  });
});
