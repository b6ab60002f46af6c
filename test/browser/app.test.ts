import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startStack } from "../../scripts/lib/stack.mjs";
import {
  freshPage,
  hasChromium,
  launchBrowser,
  seededPng,
  signIn,
  text,
  waitForCount,
  writeImages,
} from "./kit";

// The browser app in Debian's Chromium against the real `npm run dev`: the page on
// http://localhost:PORT, upload URLs signed for http://127.0.0.1:PORT, so every PUT is
// cross-origin and goes through CORS like it does to R2.

const OPERATOR = "olivia-ops";
const root = fileURLToPath(new URL("../..", import.meta.url));
let persistent: BrowserContext | undefined;
const newPage = () => freshPage(persistent, `http://localhost:${port}`);
const makeImages = (prefix: string, n: number) => writeImages(imagesDir, prefix, n);

let stack: { url: string; stop: () => Promise<void> } | undefined;
let port = 0;
let profileDir = "";
let imagesDir = "";

describe.skipIf(!hasChromium)("browser app against npm run dev", () => {
  beforeAll(async () => {
    port = await freePort();
    profileDir = mkdtempSync(path.join(tmpdir(), "darkroom-browser-profile-"));
    imagesDir = mkdtempSync(path.join(tmpdir(), "darkroom-browser-images-"));
    stack = await startStack({
      port,
      sweepSeconds: 5,
      env: {
        DARKROOM_UPLOAD_ORIGIN: `http://127.0.0.1:${port}`,
        // The Ops tab's test signs in as an operator.
        OPERATOR_SUBS: OPERATOR,
        // One retry per photo, so the page's answer to the cap shows within the test.
        DARKROOM_API_LIMITS: "MAX_RETRIES_PER_ASSET=1",
      },
    });
    persistent = await launchBrowser(profileDir);
  });

  afterAll(async () => {
    await persistent?.close().catch(() => {});
    await stack?.stop();
    for (const d of [profileDir, imagesDir]) {
      if (d) rmSync(d, { recursive: true, force: true });
    }
  });

  it("uploads 50 photos to Searchable, skips nothing valid, lists the corrupt one with its reason, retries a killed PUT", async () => {
    const files = await makeImages("a", 50);
    const corrupt = path.join(imagesDir, "corrupt.jpg");
    // JPEG magic bytes (the page's check passes) and garbage after: the processor refuses it.
    writeFileSync(
      corrupt,
      Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2000, 7)]),
    );
    const copy = path.join(imagesDir, "copy-of-a-000.png");
    writeFileSync(copy, await seededPng("a0"));
    const notes = path.join(imagesDir, "notes.txt");
    writeFileSync(notes, "not a photo");

    const page = await newPage();
    const puts = new Map<string, number>();
    let killed: string | null = null;
    await page.route(`http://127.0.0.1:${port}/api/local-upload/**`, async (route) => {
      const req = route.request();
      if (req.method() !== "PUT") return route.continue();
      const id = new URL(req.url()).pathname.split("/").pop() ?? "";
      puts.set(id, (puts.get(id) ?? 0) + 1);
      // The connection dies mid-upload: the page must retry it on its own.
      if (killed === null) {
        killed = id;
        return route.abort("connectionreset");
      }
      return route.continue();
    });
    await signIn(page, "alice");
    await page.getByTestId("file-input").setInputFiles([...files, corrupt, copy, notes]);

    await waitForCount(page, "searchable", "50 / 51");
    await expect.poll(() => page.getByTestId("failure").count(), { timeout: 60_000 }).toBe(1);
    const failure = (await page.getByTestId("failure").textContent()) ?? "";
    expect(failure).toContain("corrupt.jpg");
    expect(failure).toMatch(/corrupt|unsupported/);
    // A photo that always fails: its one retry fails again, and the next is refused with
    // the reason shown beside it (a stale click in between may say "not failed").
    await expect
      .poll(
        async () => {
          const note = await text(page, "retry-note");
          if (note.includes("the most one photo gets")) return note;
          const retry = page.getByTestId("failure").getByRole("button", { name: "Retry" });
          if ((await retry.count()) > 0) await retry.click();
          return note;
        },
        { timeout: 90_000, interval: 1000 },
      )
      .toMatch(/^This photo failed again after 1 retries, the most one photo gets \(last error: /);
    // Stats frames are coalesced (one per 400 ms at most): the last one may still come.
    await waitForCount(page, "uploaded", "51 / 51");
    await waitForCount(page, "processed", "50 / 51");

    expect(killed, "a PUT was intercepted").not.toBeNull();
    expect(puts.get(killed ?? ""), "the killed PUT was sent again").toBe(2);
    // The list is virtualised: the last rows exist only once scrolled into view.
    await page.getByTestId("file-list").evaluate((el) => {
      el.scrollTop = el.scrollHeight;
      el.dispatchEvent(new Event("scroll"));
    });
    expect(await page.locator(".filerow").count()).toBeLessThan(30);
    const row = (name: string) => page.locator(`.filerow[data-name="${name}"]`);
    await expect.poll(() => row("copy-of-a-000.png").getAttribute("data-stage")).toBe("duplicate");
    expect((await page.getByTestId("skipped").textContent()) ?? "").toContain("Skipped (1)");

    const shot = path.join(root, "test-results", "browser-batch.png");
    mkdirSync(path.dirname(shot), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
    if (process.env.UPDATE_SCREENSHOTS) {
      await page.screenshot({
        path: path.join(root, "docs", "screenshot-batch.png"),
        fullPage: true,
      });
    }

    // The gallery shows the photos, and search finds one by its file name.
    await page.getByRole("button", { name: "Gallery" }).click();
    await expect
      .poll(() => page.locator(".tile img").count(), { timeout: 20_000 })
      .toBeGreaterThan(10);
    await page.getByTestId("search").fill("a-007");
    await page.getByRole("button", { name: "Search" }).click();
    // The one workerd thread may still be busy with the retried photo, and other stacks of
    // `npm test` may load the machine: give it seconds.
    await expect.poll(() => text(page, "search-info"), { timeout: 30_000 });
    await page.close();
  });

  it("after a reload mid-batch shows the server's true state and finishes from re-picked files", async () => {
    const files = await makeImages("b", 20);
    const page = await newPage();
    // Let 8 PUTs through; hold the rest, as if the tab was closed while they ran.
    let allowed = 8;
    await page.route(`http://127.0.0.1:${port}/api/local-upload/**`, async (route) => {
      if (route.request().method() !== "PUT") return route.continue();
      if (allowed > 0) {
        allowed -= 1;
        return route.continue();
      }
      await new Promise(() => {});
    });
    await signIn(page, "bob");
    await page.getByTestId("file-input").setInputFiles(files);
    await waitForCount(page, "uploaded", "8 / 20");

    // The route stays through the reload, which cancels the held PUTs: taken away first, it
    // would let them go on, and on a loaded machine they land before the reload does (13 of
    // 20 uploaded where the test expects 8).
    await page.reload();
    await expect.poll(() => text(page, "count-uploaded"), { timeout: 30_000 }).toBe("8 / 20");
    expect((await page.getByTestId("repick").textContent()) ?? "").toContain(
      "12 file(s) were not uploaded",
    );
    await page.unrouteAll({ behavior: "ignoreErrors" });

    await page.getByTestId("repick-input").setInputFiles(files);
    await waitForCount(page, "searchable", "20 / 20");
    await page.close();
  });

  it("shows operators a failure group in the Ops tab, and its retry sends the assets back", async () => {
    const broken = path.join(imagesDir, "broken-for-ops.jpg");
    writeFileSync(
      broken,
      Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(3000, 9)]),
    );
    const page = await newPage();
    await signIn(page, OPERATOR);
    await page.getByTestId("file-input").setInputFiles([broken]);
    await expect.poll(() => page.getByTestId("failure").count(), { timeout: 60_000 }).toBe(1);

    await page.getByRole("button", { name: "Ops" }).click();
    const group = page.getByTestId("ops-failures").locator("tbody tr").first();
    await group.waitFor({ timeout: 20_000 });
    const code = (await group.getAttribute("data-code")) ?? "";
    expect(code).toMatch(/corrupt|unsupported|decode/);
    expect(await text(page, "ops-breaker")).toBe("closed");
    // Earlier tests on this stack retried photos too: the count is of all users, so read
    // it before and see it grow.
    await expect.poll(() => text(page, "ops-retried")).toMatch(/^\d+ assets retried/);
    const retriedBefore = Number.parseInt(await text(page, "ops-retried"), 10);

    await group.getByRole("button", { name: /Retry all/ }).click();
    await expect
      .poll(() => text(page, "ops-retry-result"), { timeout: 20_000 })
      .toMatch(new RegExp(`^processing/${code}: [1-9]\\d* requeued`));
    // The numbers refresh on their own: the retry shows without a reload, and the photo
    // (still broken) comes back to the same group once processing refuses it again.
    await expect
      .poll(async () => Number.parseInt(await text(page, "ops-retried"), 10), { timeout: 30_000 })
      .toBeGreaterThan(retriedBefore);
    await expect
      .poll(() => page.locator(`[data-testid="ops-failures"] tr[data-code="${code}"]`).count(), {
        timeout: 60_000,
      })
      .toBe(1);
    const shot = path.join(root, "test-results", "browser-ops.png");
    mkdirSync(path.dirname(shot), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
    await page.close();
  });
});
