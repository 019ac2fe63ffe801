// Drives the framework's guest book page in headless Chromium for tests/live_browser.rs:
// typing fires phx-change (the preview follows), Enter fires phx-submit (the name is
// listed). Argument: the page URL. Prints what it saw as JSON.
import { chromium } from "playwright-core";

const [url] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const errors = [];
try {
  const page = await browser.newPage();
  page.on("pageerror", (error) => errors.push(String(error)));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  await page.goto(url);
  await page.waitForSelector("[data-phx-main].phx-connected", { timeout: 10000 });
  await page.locator("#name").pressSequentially("Grace");
  await page.waitForFunction(() => document.getElementById("preview").textContent === "Grace", null, { timeout: 5000 });
  const preview = await page.locator("#preview").textContent();
  await page.locator("#name").press("Enter");
  await page.waitForFunction(() => document.querySelectorAll("li.name").length === 1, null, { timeout: 5000 });
  const names = await page.locator("li.name").allTextContents();
  console.log(JSON.stringify({ preview, names, errors }));
} finally {
  await browser.close();
}
