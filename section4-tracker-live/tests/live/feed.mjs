// Drives the live feed in headless Chromium for tests/live_browser.rs, with the
// official phoenix_live_view client the page loads. Arguments: the /feed URLs of two
// nodes. Prints what it saw as JSON; the Rust test checks it.
//
// Uses the system Chromium (playwright's own browser download cannot work offline);
// the flags keep it from reaching for the network on start.
import { chromium } from "playwright-core";

const [urlA, urlB] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const errors = [];
const watch = (page, name) => {
  page.on("pageerror", (error) => errors.push(`${name}: ${error}`));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`${name}: ${message.text()}`);
  });
};
const count = (page) => page.locator("li.activity").count();
const waitCount = (page, n, timeout) =>
  page.waitForFunction((n) => document.querySelectorAll("li.activity").length === n, n, { timeout });
try {
  // 1. Without JavaScript: the static render alone.
  const noJs = await browser.newContext({ javaScriptEnabled: false });
  const staticPage = await noJs.newPage();
  await staticPage.goto(urlA);
  await staticPage.waitForTimeout(1500);
  const staticItems = await count(staticPage);
  await noJs.close();

  // 2. With JavaScript: the connected mount upgrades the page to 25.
  const first = await (await browser.newContext()).newPage();
  watch(first, "first");
  await first.goto(urlA);
  await waitCount(first, 25, 10000);
  const connected = await first.evaluate(() =>
    document.querySelector("[data-phx-main]").classList.contains("phx-connected"),
  );

  // 3. A second browser, on the other node.
  const second = await (await browser.newContext()).newPage();
  watch(second, "second");
  await second.goto(urlB);
  await waitCount(second, 25, 10000);

  // 4. A click adds an item within a second, here and on the other node.
  const before = await first.locator("li.activity").first().getAttribute("id");
  const clicked = Date.now();
  await first.click("#create");
  await waitCount(first, 26, 1000);
  const clickToItemMs = Date.now() - clicked;
  await waitCount(second, 26, 5000);
  const top = await first.locator("li.activity").first().getAttribute("id");
  const secondTop = await second.locator("li.activity").first().getAttribute("id");

  console.log(
    JSON.stringify({
      staticItems,
      connected,
      afterUpgrade: 25,
      before,
      top,
      secondTop,
      clickToItemMs,
      firstItems: await count(first),
      secondItems: await count(second),
      errors,
    }),
  );
} finally {
  await browser.close();
}
