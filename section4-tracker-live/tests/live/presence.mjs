// Drives the live presence dashboard in headless Chromium for tests/live_browser.rs.
// Arguments: the /presence URLs of two nodes. Ada opens the first, Bob the second
// (another browser); then Bob closes his page. Prints what Ada's page listed.
import { chromium } from "playwright-core";

const [urlA, urlB] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const errors = [];
const users = (page) => page.locator("li.user").allTextContents();
const waitUsers = (page, names) =>
  page.waitForFunction(
    (names) =>
      JSON.stringify([...document.querySelectorAll("li.user")].map((li) => li.textContent)) ===
      JSON.stringify(names),
    names,
    { timeout: 10000 },
  );
try {
  const ada = await (await browser.newContext()).newPage();
  ada.on("pageerror", (error) => errors.push(`ada: ${error}`));
  await ada.goto(`${urlA}?name=Ada`);
  await waitUsers(ada, ["Ada"]);
  const alone = await users(ada);

  const bobContext = await browser.newContext();
  const bob = await bobContext.newPage();
  bob.on("pageerror", (error) => errors.push(`bob: ${error}`));
  await bob.goto(`${urlB}?name=Bob`);
  await waitUsers(ada, ["Ada", "Bob"]);
  const withBob = await users(ada);
  const bobSees = (await waitUsers(bob, ["Ada", "Bob"]), await users(bob));

  await bobContext.close();
  await waitUsers(ada, ["Ada"]);
  const afterBobLeft = await users(ada);

  console.log(JSON.stringify({ alone, withBob, bobSees, afterBobLeft, errors }));
} finally {
  await browser.close();
}
