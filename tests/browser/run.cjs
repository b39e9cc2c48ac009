// Real-browser checks of the badge and the <server-status> widget, driven by
// tests/tests/browser.rs: it starts reader-host instances over real Redis, writes a config
// file and runs `node run.cjs <config.json>`. playwright-core drives the system Chromium
// (never a downloaded browser). Lines "STEP <name>" ask the Rust side to change the world
// (e.g. take Redis away); it answers "OK <name>" on stdin. Any failed check exits 1.
// Every wait is for a condition, with a generous deadline (45 s): a loaded CI machine can
// take seconds to render, and a passing run never waits that long.
"use strict";
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const readline = require("node:readline");

const config = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const { chromium } = require(path.join(config.node_modules, "playwright-core"));
const http = require("node:http");
let SITE; // the fake website: a loopback server of this script, another origin than the readers
const checks = [];
const check = (name, fn) => { fn(); checks.push(name); console.log(`ok ${checks.length} - ${name}`); };

const stdin = readline.createInterface({ input: process.stdin });
const replies = [];
stdin.on("line", l => { const r = replies.shift(); if (r) r(l); });
function step(name) {
  return new Promise((resolve, reject) => {
    replies.push(line => line === `OK ${name}` ? resolve() : reject(new Error(`step ${name}: ${line}`)));
    console.log(`STEP ${name}`);
  });
}

async function main() {
  fs.mkdirSync(config.out, { recursive: true });
  const server = http.createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(site(new URL(req.url, SITE)));
  });
  await new Promise(resolve => server.listen(0, "127.0.0.1", resolve));
  SITE = `http://127.0.0.1:${server.address().port}`;
  const profile = fs.mkdtempSync(path.join(config.out, "profile-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: config.chromium,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 900, height: 700 },
    deviceScaleFactor: 1,
  });
  try {
    // Nothing may leave loopback: anything not for 127.0.0.1 is refused and counted.
    const offLoopback = [];
    await context.route("**/*", route => {
      const url = new URL(route.request().url());
      if (url.hostname === "127.0.0.1") return route.continue();
      offLoopback.push(url.href);
      return route.abort();
    });
    await widgetTests(context);
    await badgeTests(context);
    check("no request left loopback", () => assert.deepEqual(offLoopback, []));
  } finally {
    server.close();
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  console.log(`browser: ${checks.length} checks passed`);
}

// The fake website: ?reader=<name>&lang=<lang> embeds that reader's widget cross-origin.
function site(url) {
  const reader = config.readers[url.searchParams.get("reader")];
  const lang = url.searchParams.get("lang") || "en";
  const history = url.searchParams.has("history") ? " history" : "";
  // server=<id>: one server of a servers file (only id characters reach the page).
  const id = (url.searchParams.get("server") || "").replace(/[^a-z0-9_-]/g, "");
  const server = id ? ` server="${id}"` : "";
  if (url.pathname === "/badges") return badgesPage();
  return `<!doctype html><meta charset="utf-8"><title>site</title>
<style>body{margin:0;padding:16px;background:#f3f4f6;font-family:sans-serif}server-status{width:360px}</style>
<script src="${reader}/server/status/widget.js"></script>
<server-status src="${reader}/server/status" lang="${lang}"${history}${server}></server-status>`;
}

function badgesPage() {
  const rows = config.badge_readers.map(([, reader]) => {
    const base = `${reader}/server/status/badge.svg`;
    const imgs = ["flat", "flat-square", "for-the-badge"].map(style =>
      `<img src="${base}?style=${style}&show=exp,players"> <img src="${base}?style=${style}&lang=ru">`).join(" ");
    return `<div style="margin:6px 0">${imgs}</div>`;
  }).join("");
  return `<!doctype html><meta charset="utf-8"><body style="margin:0;background:#fff">` +
    `<div id="all" style="display:inline-block;padding:8px">${rows}</div></body>`;
}

// What the widget shows, read through its open Shadow DOM.
async function shown(page) {
  return page.locator("server-status").evaluate(el => {
    const q = s => el.shadowRoot.querySelector(s);
    const text = s => q(s).textContent;
    return {
      state: text(".state"), dataState: q(".box").dataset.state, rates: text(".rates"),
      players: text(".players"),
      updated: text(".updated"), stale: q(".stale").hidden ? null : text(".stale"),
      error: q(".error").hidden ? null : text(".error"), live: q("[aria-live]") !== null,
    };
  });
}

async function openWidget(context, reader, lang, expectState, query = "") {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", e => errors.push(String(e)));
  page.on("console", m => { if (m.type() === "error") errors.push(m.text()); });
  await page.goto(`${SITE}/?reader=${reader}&lang=${lang}${query}`);
  try {
    await page.waitForFunction(s => {
      const el = document.querySelector("server-status");
      return el && el.shadowRoot && el.shadowRoot.querySelector(".state").textContent === s;
    }, expectState, { timeout: 45000 });
  } catch (e) {
    const now = await shown(page).catch(err => `unreadable: ${err}`);
    throw new Error(`widget of "${reader}" (${lang}) never showed "${expectState}": it shows ` +
      `${JSON.stringify(now)}; page errors: ${JSON.stringify(errors)}`);
  }
  return { page, errors };
}

// Opens `reader`'s widget, checks as `name` that what it shows has `expected`'s fields (a
// value to equal, or a RegExp to match), saves a screenshot as `shotName` unless null, and
// closes it.
async function expectWidget(context, reader, lang, expectState, name, expected, shotName) {
  const { page } = await openWidget(context, reader, lang, expectState);
  const s = await shown(page);
  check(name, () => {
    for (const [field, want] of Object.entries(expected)) {
      if (want instanceof RegExp) assert.match(s[field] ?? "", want, `${field}: ${s[field]}`);
      else assert.equal(s[field], want, field);
    }
  });
  if (shotName) await shot(page, shotName);
  await page.close();
}

async function shot(page, name) {
  await page.locator("server-status").screenshot({ path: path.join(config.out, `widget-${name}.png`) });
}

async function widgetTests(context) {
  const r = config.rates;
  // Fresh online, in Russian.
  {
    const { page, errors } = await openWidget(context, "online", "ru", "Онлайн");
    const s = await shown(page);
    check("widget online: state, rates, age", () => {
      assert.equal(s.dataState, "online");
      assert.match(s.rates, new RegExp(`Опыт ×${r.exp}`));
      assert.match(s.rates, new RegExp(`PvP ×${r.pvp}`));
      assert.equal(s.updated, "Обновлено 2 минуты назад");
      assert.equal(s.stale, null);
      assert.equal(s.error, null);
      assert.ok(s.live, "aria-live region");
    });
    check("widget online: players count and limit beside the state", () => {
      assert.equal(s.players, "150 / 1000 игроков");
    });
    check("widget online: no page errors", () => assert.deepEqual(errors, []));
    await shot(page, "online");
    await page.close();
  }
  // English, same reader: the language is the page's choice.
  {
    const { page } = await openWidget(context, "online", "en", "Online");
    const s = await shown(page);
    check("widget online (en)", () => {
      assert.match(s.rates, new RegExp(`EXP ×${r.exp}`));
      assert.equal(s.updated, "Updated 2 minutes ago");
      assert.equal(s.players, "150 / 1000 players");
    });
    await page.close();
  }
  // server="eu-1" on the same reader: that server's document (offline), not the default's.
  {
    const { page, errors } = await openWidget(context, "online", "en", "Offline", "&server=eu-1");
    const s = await shown(page);
    check("widget server=\"eu-1\": /servers/eu-1, not the default server", () => {
      assert.equal(s.dataState, "offline");
      assert.deepEqual(errors, []);
    });
    await page.close();
  }
  // Offline.
  await expectWidget(context, "offline", "ru", "Офлайн", "widget offline", {
    dataState: "offline", players: "", stale: null, error: null,
  }, "offline");
  // Offline because the game server does not answer (the constant says online): the reason
  // is shown, and the kept players count is not (it would contradict the state). The age
  // line follows the probe's latest write, not the table's read.
  for (const [lang, word, updated] of [["ru", "Офлайн (недоступен)", "Обновлено только что"],
    ["en", "Offline (unreachable)", "Updated just now"]]) {
    await expectWidget(context, "unreachable", lang, word, `widget offline (unreachable), ${lang}`, {
      dataState: "offline", players: "", updated, stale: null, error: null,
    }, lang === "ru" ? "unreachable" : null);
  }
  // Maintenance (with the document's message).
  {
    const { page } = await openWidget(context, "maintenance", "en", "Maintenance");
    await shot(page, "maintenance");
    await page.close();
  }
  // Past its TTL: the reader still serves the document, but vouches for no state.
  await expectWidget(context, "expired", "ru", "Неизвестно", "widget past TTL: unknown with stale notice", {
    dataState: "unknown",
    stale: /^Данные устарели: статус не обновлялся 1[67] минут, состояние сервера неизвестно \(последнее известное: Онлайн\)\.$/,
    error: null,
  }, "stale");
  // The game-server probe stopped (the refresher died): the reader vouches for no state,
  // and the widget says why, with the last state it was told, and no players count.
  await expectWidget(context, "probe-stopped", "ru", "Неизвестно", "widget probe past its deadline: unknown with stale notice", {
    dataState: "unknown",
    players: "",
    stale: /^Данные устарели: статус не обновлялся (1 минуту|2 минуты), состояние сервера неизвестно \(последнее известное: Онлайн\)\.$/,
    error: null,
  }, null);
  // Redis goes down after the first load: last good data stays, with an error line.
  {
    const { page } = await openWidget(context, "down", "ru", "Онлайн");
    await step("redis-down");
    await page.waitForFunction(() => {
      const e = document.querySelector("server-status").shadowRoot.querySelector(".error");
      return !e.hidden;
    }, null, { timeout: 45000 });
    const s = await shown(page);
    check("widget redis down: last good data and an error line", () => {
      assert.equal(s.state, "Онлайн");
      assert.match(s.rates, new RegExp(`Опыт ×${r.exp}`));
      assert.equal(s.error, "Не удалось обновить (HTTP 503 redis_unavailable); показаны последние полученные данные.");
    });
    await shot(page, "error");
    await page.close();
  }
  // Revalidation: the second request carries If-None-Match and gets a bodiless 304, no
  // sooner than the first response's max-age allowed.
  {
    const page = await context.newPage();
    const seen = [];
    page.on("response", async res => {
      const req = res.request();
      if (new URL(req.url()).pathname !== "/server/status" || req.method() !== "GET") return;
      const headers = await req.allHeaders();
      seen.push({ at: Date.now(), status: res.status(), inm: headers["if-none-match"] || null,
        etag: (await res.allHeaders()).etag || null, cc: (await res.allHeaders())["cache-control"] || "",
        bytes: res.status() === 304 ? 0 : (await res.body()).length });
    });
    await page.goto(`${SITE}/?reader=reval&lang=en`);
    const deadline = Date.now() + 45000;
    while (seen.length < 2 && Date.now() < deadline) await page.waitForTimeout(200);
    const s = await shown(page);
    check("widget revalidates with If-None-Match", () => {
      assert.ok(seen.length >= 2, `saw ${seen.length} status requests`);
      const [first, second] = seen;
      assert.equal(first.status, 200);
      assert.equal(first.inm, null);
      assert.ok(first.etag, "first response has an ETag");
      assert.equal(second.inm, first.etag);
      assert.equal(second.status, 304);
      assert.equal(second.bytes, 0);
      const maxAge = Math.max(5, Number(/max-age=(\d+)/.exec(first.cc)[1]));
      assert.ok(second.at - first.at >= maxAge * 1000 - 250,
        `refetched after ${second.at - first.at} ms, max-age ${maxAge} s`);
      assert.equal(s.state, "Online", "a 304 keeps the data shown");
      assert.equal(s.error, null);
    });
    await page.close();
  }
  // The history: the 24 h bar with the flaps in the right places, each
  // segment's tooltip saying its time, state and players, the uptime and the sparkline.
  {
    const h = config.history;
    const { page, errors } = await openWidget(context, "history", "en", "Online", "&history");
    await page.waitForFunction(() => document.querySelector("server-status").shadowRoot
      .querySelectorAll(".bar i").length === 288, null, { timeout: 45000 });
    const bar = await page.locator("server-status").evaluate(el => ({
      states: [...el.shadowRoot.querySelectorAll(".bar i")].map(i => i.dataset.state),
      titles: [...el.shadowRoot.querySelectorAll(".bar i")].map(i => i.title),
      updated: el.shadowRoot.querySelector(".updated").textContent,
      spark: el.shadowRoot.querySelector(".spark polyline").getAttribute("points").split(" ").length,
    }));
    const time = await page.evaluate(ts => new Date(ts * 1000).toLocaleTimeString("en", { timeStyle: "short" }), h.sample_ts);
    check("widget history: the flaps are in the right places of the 24 h bar", () => {
      assert.deepEqual(bar.states.flatMap((st, j) => st === "offline" ? [j] : []), h.offline_slots);
      assert.equal(bar.states.filter(st => st === "online").length, h.online_slots);
      assert.equal(bar.states.filter(st => st === "unknown").length, 288 - h.offline_slots.length - h.online_slots);
    });
    check("widget history: a segment's tooltip matches the data", () => {
      assert.equal(bar.titles[h.sample_slot], `${time} ${h.sample_title}`);
      assert.equal(bar.titles[0], bar.titles[0].replace(/ ·.*/, ""), "no players where nothing was recorded");
    });
    check("widget history: uptime and players sparkline", () => {
      assert.match(bar.updated, new RegExp(` · Uptime ${h.uptime.replace(".", "\\.")}% \\(24h\\)$`));
      assert.equal(bar.spark, h.spark_points);
    });
    check("widget history: no page errors (strict CSP, open shadow DOM)", () => assert.deepEqual(errors, []));
    await shot(page, "history");
    await page.close();
  }
  // The demo page served by the reader itself, under its own CSP.
  {
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", e => errors.push(String(e)));
    page.on("console", m => { if (m.type() === "error") errors.push(m.text()); });
    await page.goto(`${config.readers.online}/server/status/widget`);
    await page.waitForFunction(() => [...document.querySelectorAll("server-status")]
      .every(el => el.shadowRoot && el.shadowRoot.querySelector(".box").dataset.state === "online"), null, { timeout: 45000 });
    await page.waitForFunction(() => [...document.images].every(i => i.complete && i.naturalWidth > 0), null, { timeout: 45000 });
    check("demo page renders its widgets and badges without errors", () => assert.deepEqual(errors, []));
    await page.screenshot({ path: path.join(config.out, "demo-page.png"), fullPage: true });
    await page.close();
  }
}

// Layout of a badge opened as a document: every text inside its own box and the badge.
async function measure(page) {
  return page.evaluate(() => {
    const svg = document.documentElement;
    const boxes = [...svg.querySelectorAll("rect")].filter(r => !r.closest("clipPath") && r.getAttribute("fill") !== "url(#s)")
      .map(r => ({ x: Number(r.getAttribute("x") || 0), w: Number(r.getAttribute("width")) }));
    const texts = [...svg.querySelectorAll("text:not([aria-hidden])")].map(t => {
      const b = t.getBBox();
      const c = t.cloneNode(true);
      c.removeAttribute("textLength");
      t.parentNode.append(c);
      const natural = c.getComputedTextLength();
      c.remove();
      return { text: t.textContent, x: b.x, w: b.width, len: Number(t.getAttribute("textLength")), natural };
    });
    const all = [...document.querySelectorAll("*")];
    return {
      tag: svg.tagName, width: Number(svg.getAttribute("width")), height: Number(svg.getAttribute("height")),
      title: svg.querySelector("title").textContent, boxes, texts,
      scripts: document.getElementsByTagName("script").length,
      foreign: document.getElementsByTagName("foreignObject").length,
      hrefs: all.filter(e => e.hasAttribute("href") || e.hasAttributeNS("http://www.w3.org/1999/xlink", "href")).length,
      handlers: all.filter(e => [...e.attributes].some(a => a.name.startsWith("on"))).length,
    };
  });
}

function assertLayout(m, what, { natural = true } = {}) {
  assert.equal(m.tag, "svg", what);
  assert.equal(m.scripts + m.foreign + m.hrefs + m.handlers, 0, `${what}: inert`);
  let right = 0;
  for (const [i, t] of m.texts.entries()) {
    const box = m.boxes.slice(-m.texts.length)[i];
    assert.ok(t.x >= box.x - 0.5 && t.x + t.w <= box.x + box.w + 0.5,
      `${what}: "${t.text}" spans ${t.x.toFixed(1)}..${(t.x + t.w).toFixed(1)}, box ${box.x}..${box.x + box.w}`);
    assert.ok(Math.abs(t.w - t.len) < 1.5, `${what}: "${t.text}" drawn ${t.w} px, measured ${t.len} px`);
    if (natural) {
      // The font the browser really used (DejaVu Sans here: no Verdana on Debian) agrees
      // with the Verdana table, so textLength adjusts spacing a little, never squeezes.
      const ratio = t.natural / t.len;
      assert.ok(ratio > 0.8 && ratio < 1.25, `${what}: "${t.text}" natural ${t.natural} vs table ${t.len}`);
    }
    right = Math.max(right, t.x + t.w);
  }
  assert.ok(right <= m.width + 0.5, `${what}: text ends at ${right}, badge is ${m.width} wide`);
}

async function badgeTests(context) {
  const page = await context.newPage();
  const dialogs = [];
  page.on("dialog", d => { dialogs.push(d.message()); d.dismiss(); });
  const words = { online: ["online", "онлайн"], offline: ["offline", "офлайн"],
    maintenance: ["maintenance", "техработы"], unknown: ["unknown", "неизвестно"] };
  for (const [state, reader] of config.badge_readers) {
    for (const style of ["flat", "flat-square", "for-the-badge"]) {
      for (const [query, lang] of [["", 0], ["&lang=ru&show=exp,pvp", 1], ["&label=My%20Realm&show=exp", 0]]) {
        const url = `${reader}/server/status/badge.svg?style=${style}${query}`;
        const res = await page.goto(url);
        const what = `badge ${state} ${style}${query}`;
        const m = await measure(page);
        check(what, () => {
          assert.equal(res.status(), 200);
          assert.equal(res.headers()["content-type"], "image/svg+xml; charset=utf-8");
          assert.ok(res.headers()["cache-control"], "has Cache-Control");
          assert.ok(m.title.includes(words[state][lang]), `${what}: title ${m.title}`);
          assert.equal(m.height, style === "for-the-badge" ? 28 : 20);
          assertLayout(m, what);
        });
      }
    }
  }
  // Hostile labels: drawn as text (escaped), or refused.
  const online = config.readers.online;
  const hostile = [
    ["<script>alert(1)</script>", 200],
    ["\"><svg onload=alert(1)><a href=\"javascript:alert(2)\">x", 200],
    ["' \" & &amp; ]]> <!--", 200],
    ["שרת המשחק", 200, { natural: false }],
    ["الخادم", 200, { natural: false }],
    ["\u202Eenilno", 400],
    ["a\u0007b", 400],
    ["x".repeat(65), 400],
    ["x".repeat(10240), 414],
  ];
  for (const [label, status, opts] of hostile) {
    const url = `${online}/server/status/badge.svg?label=${encodeURIComponent(label)}`;
    const res = await page.goto(url);
    const what = `hostile label ${JSON.stringify(label.slice(0, 40))}${label.length > 40 ? "…" : ""}`;
    if (status !== 200) {
      check(what, () => assert.equal(res.status(), status));
      continue;
    }
    const m = await measure(page);
    check(what, () => {
      assert.equal(res.status(), 200);
      assert.equal(m.texts[0].text, label, "the label is shown as text, exactly");
      assert.equal(m.title, `${label}: online`);
      assertLayout(m, what, opts);
    });
  }
  check("no dialog ever opened", () => assert.deepEqual(dialogs, []));
  // show=players: the count with its plural form, laid out from the Verdana table.
  for (const [query, title] of [["show=players", "server: online · 150 players"],
    ["lang=ru&show=players", "сервер: онлайн · 150 игроков"],
    ["style=for-the-badge&lang=ru&show=exp,players", "сервер: онлайн · Опыт ×7.5 · 150 игроков"]]) {
    const res = await page.goto(`${online}/server/status/badge.svg?${query}`);
    const m = await measure(page);
    check(`badge ${query}`, () => {
      assert.equal(res.status(), 200);
      assert.equal(m.title, title);
      assertLayout(m, query);
    });
  }
  {
    const res = await page.goto(`${config.readers.unreachable}/server/status/badge.svg?show=players`);
    const m = await measure(page);
    check("badge offline (unreachable): no count beside offline", () => {
      assert.equal(res.status(), 200);
      assert.equal(m.title, "server: offline");
    });
  }
  // A picture of every state and style, for the README.
  await page.goto(`${SITE}/badges`);
  await page.waitForFunction(() => [...document.images].every(i => i.complete && i.naturalWidth > 0), null, { timeout: 45000 });
  await page.locator("#all").screenshot({ path: path.join(config.out, "badges.png") });
  await page.close();
}

main().then(() => { stdin.close(); process.exit(0); }, e => {
  console.error(`browser: FAILED after ${checks.length} checks: ${e && e.stack || e}`);
  process.exit(1);
});
