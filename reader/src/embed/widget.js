// <server-status src="https://example.org/server/status" lang="ru" history></server-status>
// <server-status src="https://example.org/server/status" server="eu-1"></server-status>
// Dependency-free Web Component of server-status (see README "Put it on the website").
(() => {
  "use strict";
  const T = {
    en: {
      online: "Online", offline: "Offline", maintenance: "Maintenance", unknown: "Unknown",
      unreachable: "Offline (unreachable)", player: "player",
      loading: "Loading server status…", rates: "Rates",
      exp: "EXP", pvp: "PvP", pve: "PvE", skill: "Skill", color_mob: "Mobs",
      now: "Updated just now", ago: d => `Updated ${d} ago`,
      minute: "minute", hour: "hour", day: "day",
      until: d => `until ${d}`,
      stale: (age, last) => `Stale data: not refreshed for ${age}, so the server state is unknown` +
        (last ? ` (last reported: ${last}).` : "."),
      failed: why => `Could not refresh (${why}); showing the last data received.`,
      none: why => `Server status is unavailable (${why}).`,
      network: "network error", timeout: "timed out", uptime: "Uptime",
    },
    ru: {
      online: "Онлайн", offline: "Офлайн", maintenance: "Техработы", unknown: "Неизвестно",
      unreachable: "Офлайн (недоступен)", player: ["игрок", "игрока", "игроков"],
      loading: "Загрузка статуса сервера…", rates: "Рейты",
      exp: "Опыт", pvp: "PvP", pve: "PvE", skill: "Навыки", color_mob: "Мобы",
      now: "Обновлено только что", ago: d => `Обновлено ${d} назад`,
      minute: ["минуту", "минуты", "минут"], hour: ["час", "часа", "часов"], day: ["день", "дня", "дней"],
      until: d => `до ${d}`,
      stale: (age, last) => `Данные устарели: статус не обновлялся ${age}, состояние сервера неизвестно` +
        (last ? ` (последнее известное: ${last}).` : "."),
      failed: why => `Не удалось обновить (${why}); показаны последние полученные данные.`,
      none: why => `Статус сервера недоступен (${why}).`,
      network: "ошибка сети", timeout: "превышено время ожидания", uptime: "Аптайм",
    },
  };
  // Russian plural form index: 1 минуту, 2 минуты, 5 минут, 11 минут, 21 минуту.
  const plural = n => n % 10 === 1 && n % 100 !== 11 ? 0
    : n % 10 >= 2 && n % 10 <= 4 && (n % 100 < 12 || n % 100 > 14) ? 1 : 2;
  const noun = (n, unit) => Array.isArray(unit) ? unit[plural(n)] : unit + (n === 1 ? "" : "s");
  const STATES = ["online", "offline", "maintenance", "unknown"];
  const RATES = ["exp", "pvp", "pve", "skill", "color_mob"];
  const mk = tag => document.createElement(tag), now = () => performance.now();
  const MIN_DELAY_S = 5, MAX_DELAY_S = 3600, TIMEOUT_MS = 1e4, SVG = "http://www.w3.org/2000/svg";

  const CSS = `
:host{display:inline-block;box-sizing:border-box;min-width:15em;max-width:100%;
 font:var(--server-status-font,14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif);
 color:var(--server-status-color,#1f2328);background:var(--server-status-background,#fff);
 border:1px solid var(--server-status-border,#d0d7de);border-radius:var(--server-status-radius,8px);
 padding:var(--server-status-padding,.7em 1em)}
:host([hidden]){display:none}
.head{display:flex;align-items:center;gap:.5em;font-weight:600;font-size:1.15em}
.players{font-weight:400;font-size:.8em}
.dot{width:.7em;height:.7em;border-radius:50%;background:var(--c);flex:none}
[data-state=online]{--c:var(--server-status-online,#1a7f37)}
[data-state=offline]{--c:var(--server-status-offline,#cf222e)}
[data-state=maintenance]{--c:var(--server-status-maintenance,#bf8700)}
[data-state=unknown]{--c:var(--server-status-unknown,#8c959f)}
.rates{display:flex;flex-wrap:wrap;gap:.2em .9em;margin:.35em 0 0;padding:0;list-style:none}
.rates b{font-weight:600}
.updated{margin-top:.35em;font-size:.9em}
.updated,.players{color:var(--server-status-muted,#656d76)}
.stale{margin-top:.35em;color:var(--server-status-warning,#9a6700)}
.error{margin-top:.35em;color:var(--server-status-error,#cf222e)}
.bar{display:flex;height:.6em;margin-top:.45em}
.bar i{flex:1;background:var(--c)}
.spark{width:100%;height:1.6em;color:var(--server-status-muted,#656d76)}
.spark polyline{fill:none;stroke:currentColor;vector-effect:non-scaling-stroke}
.message:empty,.bar:empty,[hidden]{display:none}`;

  class ServerStatus extends HTMLElement {
    static get observedAttributes() { return ["src", "lang", "history", "server"]; }

    constructor() {
      super();
      const root = this.attachShadow({ mode: "open" });
      const el = (tag, cls, parent) => {
        const e = mk(tag);
        if (cls) e.className = cls;
        (parent || this._box).append(e);
        return e;
      };
      const style = mk("style");
      style.textContent = CSS;
      this._box = mk("div");
      this._box.className = "box";
      this._box.setAttribute("part", "box");
      root.append(style, this._box);
      // Changes to the state, the notices and the error are announced; the age line,
      // which changes every minute, is not.
      const live = el("div", "live");
      live.setAttribute("aria-live", "polite");
      const head = el("div", "head", live);
      el("span", "dot", head).setAttribute("aria-hidden", "true");
      this._state = el("span", "state", head);
      // The count changes every minute or so: shown beside the state, never announced.
      this._players = el("span", "players", head);
      this._players.setAttribute("aria-live", "off");
      this._message = el("div", "message", live);
      this._rates = el("ul", "rates");
      this._updated = el("div", "updated");
      this._stale = el("div", "stale", live);
      this._error = el("div", "error", live);
      // With the history attribute: the last 24 h as a bar (one segment per 5 minutes)
      // and a players sparkline, from <src>/history; the uptime joins the age line.
      this._bar = el("div", "bar");
      const sp = this._spark = document.createElementNS(SVG, "svg");
      sp.setAttribute("class", "spark");
      sp.setAttribute("viewBox", "0 0 287 20");
      sp.setAttribute("preserveAspectRatio", "none");
      this._box.append(sp);
      for (const k of ["state", "players", "message", "rates", "updated", "stale", "error", "bar", "spark"]) {
        this["_" + k].setAttribute("part", k);
      }
      // The last good document, and the performance.now() at which its age was _age
      // seconds. (Comments on lines of their own: build.rs drops them from the served copy.)
      this._data = null;
      this._etag = null;
      this._at = 0;
      this._age = 0;
      this._failure = null;
      this._timer = 0;
      this._dueAt = 0;
    }

    connectedCallback() {
      this._ticker = setInterval(() => this._render(), 30000);
      this._onVisible = () => {
        if (!document.hidden && this._dueAt && now() >= this._dueAt) this._load();
      };
      document.addEventListener("visibilitychange", this._onVisible);
      this._render();
      this._load();
    }

    disconnectedCallback() {
      clearInterval(this._ticker);
      clearTimeout(this._timer);
      document.removeEventListener("visibilitychange", this._onVisible);
      if (this._abort) this._abort.abort();
    }

    attributeChangedCallback(name, old, value) {
      if (!this.isConnected || old === value) return;
      if (name !== "lang") {
        this._data = this._etag = this._hist = null;
        this._load();
      } else {
        this._render();
      }
    }

    get _lang() { return this.getAttribute("lang") || "en"; }

    get _t() { return T[this._lang.slice(0, 2).toLowerCase()] || T.en; }

    async _load() {
      clearTimeout(this._timer);
      let src = this.getAttribute("src"), id = this.getAttribute("server");
      // server="id": that server's /servers/{id}, beside src's /server/status (or on this
      // page's origin). Only an id goes into the URL; anything else loads nothing.
      if (id != null) src = /^[a-z\d][a-z\d_-]{0,31}$/.test(id) && (src || "").replace(/\/server\/status.*/, "") + "/servers/" + id;
      if (!src) return;
      if (this._abort) this._abort.abort();
      const abort = this._abort = new AbortController();
      const timeout = setTimeout(() => abort.abort(), TIMEOUT_MS);
      let delay;
      try {
        const headers = this._etag ? { "If-None-Match": this._etag } : {};
        // no-store: the browser cache must not answer for us, so a 304 reaches this code
        // and the If-None-Match above is the only conditional request.
        const r = await fetch(src, { headers, cache: "no-store", credentials: "omit", signal: abort.signal });
        if (r.status === 304 && this._data) {
          this._failure = null;
        } else if (r.ok) {
          const doc = await r.json();
          if (!doc?._cache) throw new Error("not a status document");
          this._data = doc;
          this._etag = r.headers.get("ETag");
          this._age = Number(doc._cache && doc._cache.age_seconds) || 0;
          this._at = now();
          this._failure = null;
        } else {
          let code = "";
          // A body that is not JSON leaves the code out.
          try { code = (await r.json()).error || ""; } catch (_) { }
          this._failure = `HTTP ${r.status}${code ? " " + code : ""}`;
          delay = Number(r.headers.get("Retry-After"));
        }
        if (!this._failure) {
          const m = /(?:^|,)\s*max-age=(\d+)/.exec(r.headers.get("Cache-Control") || "");
          delay = m ? Number(m[1]) : MIN_DELAY_S;
          this._backoff = 0;
        }
      } catch (e) {
        this._failure = abort.signal.aborted ? "timeout" : "network";
      } finally {
        clearTimeout(timeout);
      }
      await this._loadHistory(src, abort.signal);
      if (this._failure) {
        // Back off while failing: 5 s, 10 s, 20 s ... 10 min, or the server's Retry-After.
        this._backoff = Math.min((this._backoff || 2.5) * 2, 600);
        delay = Math.max(delay || 0, this._backoff);
      }
      this._render();
      delay = Math.min(Math.max(delay || 0, MIN_DELAY_S), MAX_DELAY_S) * 1000;
      this._dueAt = now() + delay;
      this._timer = setTimeout(() => { if (!document.hidden) this._load(); }, delay);
    }

    // The history, at most once a minute (its buckets are 5 minutes wide); a failure
    // keeps the last one shown.
    async _loadHistory(src, signal) {
      if (!this.hasAttribute("history") || this._hist && now() - this._histAt < 60000) return;
      try {
        const r = await fetch(src.split(/[?#]/)[0] + "/history", { credentials: "omit", signal });
        const h = r.ok && await r.json();
        if (h?.series && h.uptime) [this._hist, this._histAt] = [h, now()];
      } catch (_) { }
    }

    // The 24 h bar, the uptime and the players sparkline, from the history. A bucket with
    // any offline time shows offline, so a short outage is never hidden.
    _renderHistory(t) {
      const h = this._hist, s = h && h.series["5m"], bar = [], pts = [];
      for (let j = 0, b = s ? s.buckets : [], n = 288 - b.length; s && j < 288; j++) {
        const x = b[j - n] || [], i = mk("i"), p = x[5] ? Math.round(x[8] / x[5]) : -1;
        const state = i.dataset.state = STATES[x[1] ? 1 : x[2] ? 2 : x[0] ? 0 : 3];
        i.title = new Date((s.start + (j - n) * s.width_s) * 1000).toLocaleTimeString(this._lang,
          { timeStyle: "short" }) + ` ${t[state]}` + (p < 0 ? "" : ` · ${p} ${noun(p, t.player)}`);
        bar.push(i);
        if (p >= 0) pts.push([j, p]);
      }
      const u = h && h.uptime["24h"], max = Math.max(1, ...pts.map(p => p[1]));
      const line = document.createElementNS(SVG, "polyline");
      line.setAttribute("points", pts.map(([j, p]) => `${j},${20 - 19 * p / max}`).join(" "));
      this._bar.replaceChildren(...bar);
      if (u != null) this._updated.textContent += ` · ${t.uptime} ${u}% (24h)`;
      this._spark.replaceChildren(line);
      this._spark.style.display = pts.length > 1 ? "" : "none";
    }

    // Age of the shown data in seconds, counting from when it was received.
    _ageNow() { return this._age + (now() - this._at) / 1000; }

    _duration(s) {
      const t = this._t;
      const [n, unit] = s < 3600 ? [Math.max(1, Math.floor(s / 60)), t.minute]
        : s < 86400 ? [Math.floor(s / 3600), t.hour] : [Math.floor(s / 86400), t.day];
      return `${n} ${noun(n, unit)}`;
    }

    _render() {
      const t = this._t, d = this._data;
      const why = this._failure && (t[this._failure] || this._failure);
      if (!d) {
        this._box.dataset.state = "unknown";
        this._state.textContent = this._failure ? t.unknown : t.loading;
        this._error.textContent = this._failure ? t.none(why) : "";
        this._error.hidden = !this._failure;
        this._stale.hidden = true;
        this._rates.replaceChildren();
        this._updated.textContent = this._message.textContent = this._players.textContent = "";
        return;
      }
      const c = d._cache || {}, g = d.game_server;
      const age = this._ageNow();
      // With a game-server probe, the newest word is the probe's (it rewrites the document
      // between reads of the table), and it may be believed only until its deadline.
      const probed = g ? age - g.checked_at + d.updated_at : age, seen = Math.min(age, probed);
      // The reader vouches for a state only within the TTL (and the probe's deadline); past
      // it the state is unknown, also when the age grew here while refreshes failed.
      const expired = c.stale === true || age > (Number(d.ttl_s) || Infinity) || g && !(probed <= g.deadline_s);
      const reported = STATES.includes(c.state) ? c.state : STATES.includes(d.state) ? d.state : "unknown";
      const last = STATES.includes(c.last_known_state) ? c.last_known_state : reported;
      const state = expired ? "unknown" : reported;
      this._box.dataset.state = state;
      this._state.textContent = t[state === "offline" && d.state_reason ? "unreachable" : state];
      // The count beside a vouched online only, and not one that was older than a TTL when
      // the table was last read (the refresher kept it through failures): as the badge.
      const p = d.players, m = d.max_players, x = Number.isInteger(m);
      this._players.textContent = state === "online" && Number.isInteger(p) && !(d.updated_at - d.players_at > d.ttl_s)
        ? `${p}${x ? " / " + m : ""} ${noun(x ? m : p, t.player)}` : "";
      let message = expired || typeof d.message !== "string" ? "" : d.message;
      if (!expired && state === "maintenance" && d.maintenance_until) {
        const until = new Date(typeof d.maintenance_until === "number" ? d.maintenance_until * 1000 : d.maintenance_until);
        if (!isNaN(until)) {
          message += (message ? " " : "") + t.until(until.toLocaleString(this._lang,
            { dateStyle: "short", timeStyle: "short" }));
        }
      }
      this._message.textContent = message;
      const rates = d.rates || {};
      const items = RATES.filter(k => typeof rates[k] === "number").map(k => {
        const li = mk("li"), b = mk("b");
        b.textContent = t[k];
        li.append(b, ` ×${Math.round(rates[k] * 100) / 100}`);
        return li;
      });
      this._rates.setAttribute("aria-label", t.rates);
      this._rates.replaceChildren(...items);
      this._updated.textContent = seen < 60 ? t.now : t.ago(this._duration(seen));
      this._stale.hidden = !expired;
      this._stale.textContent = expired ? t.stale(this._duration(seen), last !== "unknown" ? t[last] : "") : "";
      this._error.hidden = !this._failure;
      this._error.textContent = this._failure ? t.failed(why) : "";
      this._renderHistory(t);
    }
  }

  if (!customElements.get("server-status")) customElements.define("server-status", ServerStatus);
})();
