// `OPERATOR_SUBS=ops npm run dev` in one terminal, a load in another
// (`DARKROOM_URL=http://localhost:8787 npm run load -- --files 300`), then
// `node scripts/ops-screenshot.mjs [--url http://localhost:8787] [--user ops] [--out docs/ops-tab.png]`:
// signs in through the dev login as an operator, opens the Ops tab in Debian's Chromium
// and saves a full-page screenshot (the one in docs/operations.md).
import { mkdirSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const { values } = parseArgs({
  options: {
    url: { type: "string", default: process.env.DARKROOM_URL ?? "http://localhost:8787" },
    user: { type: "string", default: process.env.OPERATOR_SUBS?.split(",")[0]?.trim() || "ops" },
    out: { type: "string", default: "docs/ops-tab.png" },
    window: { type: "string", default: "1h" },
  },
});

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  await page.goto(values.url);
  await page.getByTestId("user").fill(values.user);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Ops" }).click({ timeout: 15_000 });
  await page.getByTestId("ops-stages").waitFor();
  if (values.window === "24h") await page.locator(".ops-bar select").selectOption("24h");
  // Let one refresh land so the numbers are a live view, not the first paint.
  await page.waitForTimeout(6000);
  mkdirSync(path.dirname(values.out), { recursive: true });
  await page.screenshot({ path: values.out, fullPage: true });
  console.log(`ops-screenshot: ${values.out}`);
} finally {
  await browser.close();
}
