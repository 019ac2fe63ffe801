// Checks the deck's presenter view (theme/presenter.js, theme/slides.css) in headless
// Chromium, on a built book: `node presenter.mjs <book folder>`.
//
// Run by `cargo xtask verify --only slides` after `mdbook build`. Prints one
// `ok - ...` line per check; on the first failure prints `not ok - ...` and exits 1.
//
// Serves the book on 127.0.0.1 (a free port), as `cargo xtask slides` does, and uses
// the system Chromium (playwright's own browser download cannot work offline); the
// flags keep it from reaching for the network on start.
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { chromium } from "playwright-core";

// A slide page with speaker notes and a spoiler, and an exercise page with hints.
const SLIDE = "section1/part1/e02_serial.html";
const EXERCISE = "exercises/s1-e02_serial.html";

const book = path.resolve(process.argv[2] ?? "");
if (!process.argv[2]) {
  console.error("usage: node presenter.mjs <built book folder>");
  process.exit(2);
}

class CheckFailed extends Error {
  constructor(what, detail) {
    super(what);
    this.detail = detail;
  }
}
function check(condition, what, detail = "") {
  if (!condition) throw new CheckFailed(what, detail);
  console.log(`ok - ${what}`);
}

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".css": "text/css",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".ttf": "font/ttf",
};

const server = createServer(async (request, response) => {
  try {
    let file = decodeURIComponent(new URL(request.url, "http://x").pathname);
    if (file.endsWith("/")) file += "index.html";
    const full = path.join(book, path.normalize(file));
    if (!full.startsWith(book + path.sep) || !(await stat(full)).isFile()) throw new Error();
    response.writeHead(200, {
      "content-type": TYPES[path.extname(full)] ?? "application/octet-stream",
    });
    response.end(await readFile(full));
  } catch {
    response.writeHead(404).end("not found");
  }
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const errors = [];
function watch(page) {
  page.on("pageerror", (error) => errors.push(`${page.url()}: ${error}`));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`${page.url()}: ${message.text()}`);
  });
  page.setDefaultTimeout(20000);
  return page;
}

// What the page shows of its notes and other <details>, measured in the page.
async function look(page) {
  return page.evaluate(() => {
    const shown = (el) => el !== null && el.getClientRects().length > 0;
    const notes = [...document.querySelectorAll("details.notes")];
    const others = [...document.querySelectorAll("details:not(.notes)")];
    const badge = document.getElementById("presenter-badge");
    return {
      notes: notes.length,
      notesShown: notes.filter(shown).length,
      notesOpen: notes.filter((n) => n.open).length,
      noteTextShown: notes.filter((n) => shown(n.querySelector("p"))).length,
      others: others.length,
      othersSummaryShown: others.filter((d) => shown(d.querySelector(":scope > summary"))).length,
      presenterClass: document.documentElement.classList.contains("presenter"),
      badge: shown(badge) ? badge.textContent : null,
    };
  });
}

async function learnerSees(page, where) {
  const seen = await look(page);
  check(seen.notes > 0, `${where}: the page has speaker notes`, JSON.stringify(seen));
  check(
    seen.notesShown === 0 && !seen.presenterClass && seen.badge === null,
    `${where}: speaker notes are hidden from the learner, no presenter badge`,
    JSON.stringify(seen),
  );
  check(
    seen.others > 0 && seen.othersSummaryShown === seen.others,
    `${where}: every other <details> (spoiler, hint) shows its summary`,
    JSON.stringify(seen),
  );
}

async function presenterSees(page, where, badge) {
  const seen = await look(page);
  check(
    seen.notesShown === seen.notes && seen.notesOpen === seen.notes && seen.noteTextShown === seen.notes,
    `${where}: every speaker note is shown, open`,
    JSON.stringify(seen),
  );
  check(
    seen.badge !== null && seen.badge.includes(badge),
    `${where}: the badge says "${badge}"`,
    JSON.stringify(seen),
  );
  check(
    seen.othersSummaryShown === seen.others,
    `${where}: spoilers and hints still show their summary`,
    JSON.stringify(seen),
  );
}

async function clickOpens(page, selector, what) {
  const details = page.locator(selector).first();
  await details.locator(":scope > summary").click();
  const open = await details.evaluate((d) => d.open && d.querySelector("p")?.getClientRects().length > 0);
  check(open, `${what} opens on a click`);
}

let failed = null;
try {
  // Without JavaScript the CSS alone keeps the notes from learners.
  const bare = await browser.newContext({ javaScriptEnabled: false });
  const barePage = await bare.newPage();
  await barePage.goto(`${base}/${SLIDE}`);
  await learnerSees(barePage, "without JavaScript");
  await bare.close();

  const context = await browser.newContext();
  const page = watch(await context.newPage());
  await page.goto(`${base}/${SLIDE}`);
  await learnerSees(page, "a slide, by default");
  await clickOpens(page, "details:not(.notes)", "the slide's spoiler");

  await page.goto(`${base}/${EXERCISE}`);
  const hints = await look(page);
  check(
    hints.others >= 3 && hints.othersSummaryShown === hints.others && hints.notes === 0,
    "the exercise page shows its hints' summaries",
    JSON.stringify(hints),
  );
  await clickOpens(page, "details:not(.notes)", "hint 1");

  await page.goto(`${base}/${SLIDE}`);
  await page.keyboard.press("n");
  await presenterSees(page, "after N", "presenter mode");

  await page.reload();
  await presenterSees(page, "after a reload", "presenter mode");

  await page.goto(`${base}/${EXERCISE}`);
  const onExercise = await look(page);
  check(
    onExercise.badge !== null && onExercise.othersSummaryShown === onExercise.others,
    "on another page: still presenter mode, hints untouched",
    JSON.stringify(onExercise),
  );

  await page.goto(`${base}/${SLIDE}`);
  await page.keyboard.press("n");
  await learnerSees(page, "after N again");
  await page.reload();
  await learnerSees(page, "after N again and a reload");

  // Typing in mdBook's search box must not toggle anything.
  await page.keyboard.press("s");
  const search = page.locator("#mdbook-searchbar");
  await search.waitFor({ state: "visible" });
  await search.focus();
  await page.keyboard.type("np");
  const typed = await search.inputValue();
  check(typed === "np", "typing N and P in the search box types them", `the box holds "${typed}"`);
  check(context.pages().length === 1, "P in the search box opens no window");
  await page.keyboard.press("Escape");
  await search.evaluate((box) => box.blur());
  await learnerSees(page, "after typing N in the search box");

  // P: a speaker window with the notes, following the projected window.
  const [speaker] = await Promise.all([context.waitForEvent("page"), page.keyboard.press("p")]);
  watch(speaker);
  await speaker.waitForLoadState("load");
  check(speaker.url().includes(SLIDE), "P opens a speaker window on the same page", speaker.url());
  await presenterSees(speaker, "the speaker window", "speaker window");
  await learnerSees(page, "the projected window, with a speaker window open");

  await page.keyboard.press("ArrowRight");
  await page.waitForURL((url) => !url.pathname.endsWith(SLIDE));
  const next = new URL(page.url()).pathname;
  await speaker.waitForURL((url) => url.pathname === next, { timeout: 20000 });
  check(true, `the speaker window follows the projected window to ${next}`);
  await presenterSees(speaker, "the speaker window, after following", "speaker window");

  await speaker.keyboard.press("ArrowLeft");
  await page.waitForURL((url) => url.pathname.endsWith(SLIDE), { timeout: 20000 });
  check(true, "the projected window follows the speaker window back");
  await learnerSees(page, "the projected window, after following");

  check(errors.length === 0, "no JavaScript errors", errors.join("\n"));
} catch (error) {
  failed =
    error instanceof CheckFailed
      ? { what: error.message, detail: error.detail }
      : { what: "the check itself broke", detail: String(error.stack ?? error) };
} finally {
  await browser.close();
  server.close();
}
if (failed) {
  console.log(`not ok - ${failed.what}`);
  if (failed.detail) console.log(`# saw: ${failed.detail}`);
  process.exit(1);
}
