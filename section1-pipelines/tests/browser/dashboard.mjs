// Opens the part 1 dashboard in headless Chromium and waits until its gauges show
// what the server's resource is doing. Called by tests/browser.rs with the page URL
// and the number of users the test holds on the resource.
//
// Uses the system Chromium (playwright's own browser download cannot work offline);
// the flags keep it from reaching for the network on start.
import { chromium } from "playwright-core";

const [url, expectedUsers] = process.argv.slice(2);
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
  // The numbers change without a reload: wait for the live stream, not the load event.
  await page.waitForFunction(
    (users) => document.getElementById("current")?.textContent === users,
    expectedUsers,
    { timeout: 15000 },
  );
  await page.waitForFunction(
    (users) => Number(document.getElementById("average")?.textContent) >= Number(users) - 0.05,
    expectedUsers,
    { timeout: 15000 },
  );
  const read = (id) => page.locator(`#${id}`).textContent();
  const result = {
    status: await read("status"),
    current: await read("current"),
    average: await read("average"),
    implementation: await read("implementation"),
    errors,
  };
  if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT });
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
