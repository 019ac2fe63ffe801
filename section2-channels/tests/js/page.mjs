// Opens the section 2 demo page in headless Chromium and uses it like a person:
// ping, create an activity, wait for the signed-in socket and a pushed token.
// Called by tests/page.rs with the page URL; prints what it saw as JSON.
//
// Uses the system Chromium (playwright's own browser download cannot work offline);
// the flags keep it from reaching for the network on start.
import { chromium } from "playwright-core";

const [url, seeded] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  await page.goto(url);
  const text = (id) => page.locator(`#${id}`).textContent();
  const until = (fn, arg) => page.waitForFunction(fn, arg, { timeout: 15000 });

  await until(() => document.getElementById("status")?.textContent === "connected");
  // The feed fetched what the store holds.
  await until((n) => document.querySelectorAll("#feed li").length === Number(n), seeded);

  await page.click("#ping");
  await until(() => document.getElementById("ping-reply")?.textContent.startsWith("ok"));
  const ping = await text("ping-reply");

  await page.click("#create");
  await until(() => document.getElementById("create-reply")?.textContent.startsWith("created"));
  // The broadcast adds it to the list (the page de-duplicates by id).
  await until((n) => document.querySelectorAll("#feed li").length === Number(n) + 1, seeded);
  const created = await text("create-reply");

  await until(() => document.getElementById("auth-status")?.textContent.startsWith("connected as user"));
  await until(() => document.getElementById("user-channel")?.textContent.startsWith("joined"));
  await until(() => Number(document.getElementById("tokens")?.textContent) >= 1);

  const result = {
    ping,
    created,
    feed: await page.locator("#feed li").count(),
    auth: await text("auth-status"),
    userChannel: await text("user-channel"),
    tokens: Number(await text("tokens")),
    errors,
  };
  if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
