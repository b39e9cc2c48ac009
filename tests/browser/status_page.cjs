// Real-browser checks of GET /status, the public status page, driven by
// tests/tests/status_page/mod.rs: it seeds two page documents (a fleet in trouble and a
// quiet one), starts a reader-host for each, writes a config file and runs
// `node status_page.cjs <config.json>`. playwright-core drives the system Chromium (never a
// downloaded browser); axe-core runs inside the page; Lighthouse runs its own headless
// Chromium (CHROME_PATH) against the reader. Any failed check exits 1. Every wait is for a
// condition (a navigation's load), never a sleep.
"use strict";
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");

const config = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const modules = config.node_modules;
const { chromium } = require(path.join(modules, "playwright-core"));
const checks = [];
const check = (name, fn) => { fn(); checks.push(name); console.log(`ok ${checks.length} - ${name}`); };
const FLEET = config.readers.fleet;
const QUIET = config.readers.operational;
const ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

// What the fleet's page says, per language: summary, each server's name and state line,
// the words of an ongoing incident and of the notice's maintenance.
const FLEET_WORDS = {
  en: { lang: "en", title: "Server status", summary: "Partial outage", ongoing: "ongoing",
    states: [/^Online$/, /^Offline · unreachable$/, /^Maintenance until \d{4}-\d\d-\d\d \d\d:\d\d UTC$/],
    players: ["Players: 137 / 500", "Players: — / 500", "Players: — / 500"] },
  ru: { lang: "ru", title: "Состояние серверов", summary: "Частичный сбой", ongoing: "продолжается",
    states: [/^Работает$/, /^Недоступен · не отвечает на подключение$/, /^Техработы до \d{4}-\d\d-\d\d \d\d:\d\d UTC$/],
    players: ["Игроки: 137 / 500", "Игроки: — / 500", "Игроки: — / 500"] },
};
const NAMES = ["EU 1 · Classic", "Asia · Hardcore", "US West"];

async function main() {
  fs.mkdirSync(config.out, { recursive: true });
  const browser = await chromium.launch({ executablePath: config.chromium, headless: true, args: ARGS });
  // Nothing may leave loopback: anything not for 127.0.0.1 is refused and counted.
  const offLoopback = [];
  const context = async options => {
    const c = await browser.newContext({ viewport: { width: 800, height: 700 }, deviceScaleFactor: 1, ...options });
    await c.route("**/*", route => {
      const url = new URL(route.request().url());
      if (url.hostname === "127.0.0.1") return route.continue();
      offLoopback.push(url.href);
      return route.abort();
    });
    return c;
  };
  try {
    for (const javaScriptEnabled of [false, true]) await contentTests(await context({ javaScriptEnabled }), javaScriptEnabled);
    await languageTests(context);
    await schemeTests(context);
    await narrowTests(context);
    await axeTests(await context({ bypassCSP: true }));
    check("no request left loopback", () => assert.deepEqual(offLoopback, []));
  } finally {
    await browser.close();
  }
  lighthouse(`${FLEET}/status`);
  console.log(`status page: ${checks.length} checks passed`);
}

// Opens `url` in a new page of `ctx`: the page, its answer, and what it logged as an error.
async function open(ctx, url) {
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", e => errors.push(String(e)));
  page.on("console", m => { if (m.type() === "error") errors.push(m.text()); });
  const res = await page.goto(url, { waitUntil: "load" });
  return { page, res, errors };
}

// What the page shows, read from the DOM.
async function read(page) {
  return page.evaluate(() => {
    const text = e => e ? e.textContent.trim() : null;
    return {
      lang: document.documentElement.lang, title: document.title,
      summary: text(document.querySelector(".sum")),
      summaryHeight: document.querySelector(".sum").getBoundingClientRect().height,
      notices: [...document.querySelectorAll("main > ul > li")].map(text),
      scripts: document.scripts.length,
      servers: [...document.querySelectorAll("section")].map(s => {
        const paths = [...s.querySelectorAll("svg.bars path")];
        const xs = paths.flatMap(p => [...p.getAttribute("d").matchAll(/M(\d+),/g)].map(m => Number(m[1])));
        return {
          name: text(s.querySelector("h2")), state: text(s.querySelector("h2 + p")),
          players: text(s.querySelector("h2 + p + p")), xs,
          titled: paths.every(p => p.querySelector("title") && text(p.querySelector("title")).length > 10),
          barsHeight: s.querySelector("svg.bars").getBoundingClientRect().height,
          incidents: [...s.querySelectorAll("li")].map(text), height: s.getBoundingClientRect().height,
        };
      }),
    };
  });
}

// The fleet's page as `lang` shows it: every word where it belongs, 90 bars per server.
function assertFleet(s, lang, what) {
  const w = FLEET_WORDS[lang];
  check(`${what}: language, title and summary line`, () => {
    assert.equal(s.lang, w.lang);
    assert.equal(s.title, w.title);
    assert.equal(s.summary, w.summary);
    assert.ok(s.summaryHeight > 0, "the summary line is laid out");
    assert.equal(s.scripts, 0, "no script in the page");
  });
  check(`${what}: each server's name, state words and players`, () => {
    assert.deepEqual(s.servers.map(x => x.name), NAMES);
    s.servers.forEach((x, i) => assert.match(x.state, w.states[i], x.name));
    assert.deepEqual(s.servers.map(x => x.players), w.players);
  });
  check(`${what}: 90 daily bars per server, each with its tooltip`, () => {
    const all = [...Array(90).keys()];
    for (const x of s.servers) {
      assert.deepEqual([...x.xs].sort((a, b) => a - b), all, x.name);
      assert.ok(x.titled, `${x.name}: every bar has a <title>`);
      assert.ok(x.barsHeight > 0 && x.height > 0, `${x.name} is laid out`);
    }
  });
  check(`${what}: incidents, the ongoing ones said so`, () => {
    const [eu, asia, us] = s.servers.map(x => x.incidents);
    const ongoing = new RegExp(`^\\S+ .*\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC – ${w.ongoing} \\(\\d+ \\S+\\)$`);
    assert.match(asia[0], ongoing);
    assert.ok(asia[0].startsWith(`${s.servers[1].state} `), `the incident's state and reason: ${asia[0]}`);
    assert.match(us[0], ongoing);
    assert.equal(eu.length, 2, `EU: the outage 3 days ago and the maintenance 10 days ago: ${eu}`);
    assert.ok(eu.every(i => !i.includes(w.ongoing)), "EU's incidents are over");
    assert.equal(asia.length, 2);
  });
  check(`${what}: the maintenance notice`, () => {
    assert.equal(s.notices.length, 1);
    assert.ok(s.notices[0].startsWith("US West:"), s.notices[0]);
    assert.ok(s.notices[0].endsWith(config.notice), s.notices[0]);
  });
}

async function contentTests(ctx, js) {
  const what = js ? "JavaScript on" : "JavaScript off";
  const { page, res, errors } = await open(ctx, `${FLEET}/status?lang=en`);
  const headers = res.headers();
  check(`${what}: 200 HTML under its CSP`, () => {
    assert.equal(res.status(), 200);
    assert.equal(headers["content-type"], "text/html; charset=utf-8");
    assert.match(headers["content-security-policy"], /^default-src 'none';/);
  });
  assertFleet(await read(page), "en", what);
  if (!js) await page.screenshot({ path: path.join(config.out, "status-page-outage.png"), fullPage: true });
  const quiet = await open(ctx, `${QUIET}/status`);
  const q = await read(quiet.page);
  check(`${what}: a quiet fleet is operational`, () => {
    assert.equal(q.summary, "All systems operational");
    assert.deepEqual(q.servers.map(x => x.state), ["Online", "Online"]);
    assert.deepEqual(q.servers[1].incidents, []);
    assert.equal(q.notices.length, 0);
  });
  if (!js) await quiet.page.screenshot({ path: path.join(config.out, "status-page-light.png"), fullPage: true });
  check(`${what}: no page errors`, () => assert.deepEqual([...errors, ...quiet.errors], []));
  await ctx.close();
}

async function languageTests(context) {
  const byQuery = await context({ javaScriptEnabled: false, extraHTTPHeaders: { "accept-language": "en-US,en;q=0.9" } });
  const { page } = await open(byQuery, `${FLEET}/status?lang=ru`);
  assertFleet(await read(page), "ru", "?lang=ru over an English browser");
  await page.screenshot({ path: path.join(config.out, "status-page-ru.png"), fullPage: true });
  await byQuery.close();
  const byHeader = await context({ javaScriptEnabled: false, extraHTTPHeaders: { "accept-language": "ru-RU,ru;q=0.9,en;q=0.8" } });
  const second = await open(byHeader, `${FLEET}/status`);
  assertFleet(await read(second.page), "ru", "Accept-Language: ru");
  check("Accept-Language: the answer varies by it", () => assert.equal(second.res.headers().vary, "Accept-Language"));
  await byHeader.close();
}

// Colours of the page in a scheme: the body's background and the summary's text.
async function colours(context, colorScheme, shot) {
  const ctx = await context({ javaScriptEnabled: false, colorScheme });
  const { page } = await open(ctx, `${FLEET}/status`);
  const c = await page.evaluate(() => ({
    bg: getComputedStyle(document.body).backgroundColor,
    fg: getComputedStyle(document.body).color,
    offline: getComputedStyle(document.querySelectorAll("section")[1].querySelector("h2 + p")).color,
  }));
  if (shot) await page.screenshot({ path: path.join(config.out, shot), fullPage: true });
  await ctx.close();
  return c;
}

async function schemeTests(context) {
  const light = await colours(context, "light", null);
  const dark = await colours(context, "dark", "status-page-dark.png");
  check("light scheme: white background, dark text", () => {
    assert.equal(light.bg, "rgb(255, 255, 255)");
    assert.equal(light.fg, "rgb(31, 35, 40)");
  });
  check("dark scheme: the background and the colours change", () => {
    assert.equal(dark.bg, "rgb(13, 17, 23)");
    assert.equal(dark.fg, "rgb(230, 237, 243)");
    assert.notEqual(dark.offline, light.offline);
  });
}

// At 320 px wide nothing scrolls sideways, in either language and either fleet.
async function narrowTests(context) {
  const ctx = await context({ javaScriptEnabled: false, viewport: { width: 320, height: 640 } });
  for (const [name, url] of [["fleet", `${FLEET}/status`], ["fleet, ru", `${FLEET}/status?lang=ru`],
    ["quiet fleet, ru", `${QUIET}/status?lang=ru`]]) {
    const { page } = await open(ctx, url);
    const m = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      widest: Math.max(...[...document.querySelectorAll("main *")].map(e => e.getBoundingClientRect().right)),
    }));
    check(`320 px: no horizontal scroll (${name})`, () => {
      assert.ok(m.scroll <= 320, `scrollWidth ${m.scroll}`);
      assert.ok(m.widest <= 320.5, `an element ends at ${m.widest}`);
    });
    await page.close();
  }
  await ctx.close();
}

// axe-core inside the page (its CSP bypassed for the injected script only): no violation
// in either scheme or language.
async function axeTests(ctx) {
  const axe = path.join(modules, "axe-core/axe.min.js");
  for (const [name, url, scheme] of [["fleet", `${FLEET}/status`, "light"], ["fleet", `${FLEET}/status`, "dark"],
    ["fleet, ru", `${FLEET}/status?lang=ru`, "light"], ["quiet fleet", `${QUIET}/status`, "light"],
    ["quiet fleet, ru", `${QUIET}/status?lang=ru`, "dark"]]) {
    const { page } = await open(ctx, url);
    await page.emulateMedia({ colorScheme: scheme });
    await page.addScriptTag({ path: axe });
    const r = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
    const what = `axe-core ${r.testEngine.version}: ${name}, ${scheme}`;
    for (const v of r.violations) {
      console.log(`axe violation ${v.id} (${v.impact}): ${v.help}\n  ${v.nodes.map(n => n.target.join(" ")).join("\n  ")}`);
    }
    console.log(`${what}: ${r.passes.length} rules passed, ${r.violations.length} violations`);
    check(`${what}: 0 violations`, () => assert.deepEqual(r.violations.map(v => v.id), []));
    await page.close();
  }
  await ctx.close();
}

// Lighthouse's four categories, each at least config.min_score, printed.
function lighthouse(url) {
  const cli = path.join(modules, "lighthouse/cli/index.js");
  const report = path.join(config.out, `lighthouse-${process.pid}.json`);
  const started = Date.now();
  const run = spawnSync(process.execPath, [cli, url, "--quiet", "--output=json", `--output-path=${report}`,
    "--only-categories=performance,accessibility,best-practices,seo",
    `--chrome-flags=${ARGS.join(" ")}`], {
    env: { ...process.env, CHROME_PATH: config.chromium }, stdio: ["ignore", "inherit", "inherit"], timeout: 240000,
  });
  assert.equal(run.status, 0, `lighthouse exited with ${run.status} ${run.signal || ""} ${run.error || ""}`);
  const lhr = JSON.parse(fs.readFileSync(report, "utf8"));
  fs.renameSync(report, path.join(config.out, "lighthouse-status-page.json"));
  const scores = Object.fromEntries(Object.entries(lhr.categories).map(([id, c]) => [id, c.score]));
  console.log(`lighthouse ${lhr.lighthouseVersion} (${((Date.now() - started) / 1000).toFixed(1)} s): ` +
    Object.entries(scores).map(([id, s]) => `${id} ${s}`).join(", "));
  for (const [id, c] of Object.entries(lhr.categories)) {
    for (const ref of c.auditRefs.filter(r => r.weight > 0)) {
      const a = lhr.audits[ref.id];
      if (a.score !== null && a.score < 1) console.log(`  ${id}: ${a.id} ${a.score} ${a.title} ${a.displayValue || ""}`);
    }
  }
  check("lighthouse: runtime without error", () => assert.equal(lhr.runtimeError, undefined));
  for (const id of ["performance", "accessibility", "best-practices", "seo"]) {
    check(`lighthouse ${id} ${scores[id]} >= ${config.min_score}`, () => assert.ok(scores[id] >= config.min_score));
  }
}

main().then(() => process.exit(0), e => {
  console.error(`status page: FAILED after ${checks.length} checks: ${e && e.stack || e}`);
  process.exit(1);
});
