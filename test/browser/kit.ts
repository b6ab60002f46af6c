// What every browser test needs: Debian's Chromium driven by playwright-core, a fresh
// signed-out page, the page's counters, and distinct small photos to pick.
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import sharp from "sharp";
import { expect } from "vitest";
import { openFresh } from "../../scripts/lib/page-state.mjs";

export const CHROMIUM = "/usr/bin/chromium";
export const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`browser tests skipped: ${CHROMIUM} is missing (apt-get install chromium)`);
}

/** Headless, and quiet on the network: this machine refuses Chromium's own connections. */
export function launchBrowser(profileDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
    ],
  });
}

/**
 * A page at `origin`, signed out with no stored batch (each test starts from nothing);
 * `watch` sees the page before it loads (to listen to its requests).
 */
export async function freshPage(
  browser: BrowserContext | undefined,
  origin: string,
  watch?: (page: Page) => void,
): Promise<Page> {
  if (!browser) throw new Error("no browser");
  const page = await browser.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  watch?.(page);
  await openFresh(page, origin);
  return page;
}

export async function signIn(page: Page, user: string): Promise<void> {
  await page.getByTestId("user").fill(user);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("dropzone").waitFor();
}

/** The trimmed text of a test id, "" while it is not on the page. */
export async function text(page: Page, testId: string): Promise<string> {
  const el = page.getByTestId(testId);
  return (await el.count()) > 0 ? ((await el.textContent()) ?? "").trim() : "";
}

export async function waitForCount(
  page: Page,
  stage: string,
  want: string,
  timeout = 120_000,
): Promise<void> {
  await expect.poll(() => text(page, `count-${stage}`), { timeout, interval: 500 }).toBe(want);
}

/**
 * `n` distinct small PNGs in `dir`, `<prefix>-000.png` …: random pixels from a generator
 * seeded by (salt, prefix, i), so no two share a hash and a copy written later is
 * byte-identical.
 */
export async function writeImages(
  dir: string,
  prefix: string,
  n: number,
  salt = "",
): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const file = path.join(dir, `${prefix}-${String(i).padStart(3, "0")}.png`);
    writeFileSync(file, await seededPng(`${salt}${prefix}${i}`));
    out.push(file);
  }
  return out;
}

export function seededPng(key: string, width = 96, height = 64): Promise<Buffer> {
  const px = Buffer.alloc(width * height * 3);
  let seed = [...key].reduce((a, c) => (a * 31 + c.charCodeAt(0)) >>> 0, 7);
  for (let j = 0; j < px.length; j++) {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    px[j] = seed >>> 24;
  }
  return sharp(px, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}
