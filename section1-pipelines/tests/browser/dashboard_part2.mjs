// Opens the part 2 dashboard in headless Chromium and waits until its gauges show
// what the server's pipeline is doing. Called by tests/browser.rs with the page URL,
// the queue depth and the resource users the test set up.
import { chromium } from "playwright-core";

const [url, expectedQueue, expectedInUse] = process.argv.slice(2);
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
  await page.waitForFunction(
    (queue) => document.getElementById("queue")?.textContent === queue,
    expectedQueue,
    { timeout: 15000 },
  );
  await page.waitForFunction(
    (users) => Number(document.getElementById("in_use")?.textContent) >= Number(users) - 0.05,
    expectedInUse,
    { timeout: 15000 },
  );
  const read = (id) => page.locator(`#${id}`).textContent();
  const result = {
    status: await read("status"),
    queue: await read("queue"),
    capacity: await read("capacity"),
    in_use: await read("in_use"),
    implementation: await read("implementation"),
    errors,
  };
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
