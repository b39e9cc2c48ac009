//! The status page as HTML: a pure function of the stored page, the time and the language.
//!
//! Hand-written into one `String` (no template engine: the `.wasm` has a size budget).
//! Everything from the stored page is either a number formatted here or a string passed
//! through [`escape::push`], cut to a bound; every loop is bounded by the document crate's
//! limits, so a hostile stored page costs at most [`MAX_PAGE_SERVERS`] servers of bounded
//! size. The vouch rule is the reader's everywhere: past `vouched_until` a server's state
//! is not known, whatever was stored.

use std::fmt::Write as _;

use status_document::page::{
    INCIDENT_WINDOW_S, MAX_NOTICE_CHARS, MAX_PAGE_INCIDENTS, MAX_PAGE_SERVERS, PageDocument,
    PageIncident, PageServer,
};
use status_document::{MAX_PLAYERS, State, StateReason};

use super::escape;
use super::svg;
use super::time::{
    DASH, push_duration, push_percent, push_time, push_time_element, push_uint, whole,
};
use super::words::{Lang, Words, words};

/// Longest server name printed (characters).
pub const MAX_NAME_CHARS: usize = 100;

/// The one stylesheet: light and dark, readable at 320 px, colours with at least 4.5:1
/// contrast on their background for text. Classes: `o` online, `p` partial, `d` down,
/// `m` maintenance, `u` not known.
pub const CSS: &str = concat!(
    ":root{color-scheme:light dark;--bg:#fff;--fg:#1f2328;--mu:#57606a;--ok:#1a7f37;",
    "--pa:#bc4c00;--dn:#cf222e;--mt:#0969da;--un:#6e7781;--ln:#d0d7de}",
    "@media(prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--mu:#8b949e;",
    "--ok:#3fb950;--pa:#db6d28;--dn:#f85149;--mt:#58a6ff;--un:#6e7681;--ln:#30363d}}",
    "body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,sans-serif}",
    "main{max-width:48rem;margin:0 auto;padding:1rem}h1{font-size:1.5rem;margin:0 0 1rem}",
    "h2{font-size:1.25rem;margin:0;overflow-wrap:anywhere}h3{font-size:1rem;margin:1rem 0 .25rem}",
    "section{border:1px solid var(--ln);border-radius:.5rem;padding:1rem;margin:1rem 0}",
    ".sum{font-size:1.25rem;font-weight:600;border:2px solid;border-radius:.5rem;padding:.5rem 1rem}",
    ".o{color:var(--ok)}.p{color:var(--pa)}.d{color:var(--dn)}.m{color:var(--mt)}.u,.mu{color:var(--mu)}",
    "p,li{overflow-wrap:anywhere}svg{display:block;width:100%}.spark{height:40px}.bars{height:32px}",
    ".spark polyline{fill:none;stroke:var(--mt);stroke-width:2}",
    ".bars path{stroke-width:.7}.bars .o{stroke:var(--ok)}.bars .p{stroke:var(--pa)}",
    ".bars .d{stroke:var(--dn)}.bars .m{stroke:var(--mt)}.bars .u{stroke:var(--un)}dl{display:flex;flex-wrap:wrap;gap:0 1.5rem;margin:.5rem 0}",
    "dt{color:var(--mu)}dd{margin:0;font-weight:600}ul{padding-left:1.25rem}a{color:var(--mt)}"
);

/// The page for `doc` at `now` (unix seconds) in `lang`.
pub fn render(doc: &PageDocument, now: f64, lang: Lang) -> String {
    let w = words(lang);
    let servers = &doc.servers[..doc.servers.len().min(MAX_PAGE_SERVERS)];
    let mut out = String::with_capacity(8_192 + servers.len() * 7_000);
    head(&mut out, w, w.title);
    let _ = write!(out, "<h1>{}</h1>", w.title);
    summary(&mut out, servers, now, w);
    out.push_str("<p class=\"mu\">");
    let _ = write!(out, "{} ", w.updated);
    push_time_element(&mut out, i64::try_from(doc.generated_at).unwrap_or(-1));
    out.push_str("</p>");
    for server in servers {
        server_section(&mut out, server, doc.generated_at, now, w);
    }
    if doc.total_servers > servers.len() {
        let _ = write!(
            out,
            "<p>{} <a href=\"/servers\">/servers</a>.</p>",
            w.more_servers
        );
    }
    out.push_str("</main></body></html>");
    out
}

/// A page with only a heading and a sentence: the 503 and 502 answers.
pub fn message_page(lang: Lang, title: &str, text: &str) -> String {
    let w = words(lang);
    let mut out = String::with_capacity(2_048);
    head(&mut out, w, title);
    let _ = write!(out, "<h1>{title}</h1><p>{text}</p></main></body></html>");
    out
}

/// The document up to the opening `<main>`: language, viewport, title, description, an
/// empty icon (no `/favicon.ico` request, which would be a 404 in the console), style.
fn head(out: &mut String, w: &Words, title: &str) {
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title}</title><meta name=\"description\" content=\"{}\">\
         <link rel=\"icon\" href=\"data:,\">\
         <style>{CSS}</style></head><body><main>",
        w.lang, w.description
    );
}

/// What the page says about `server` at `now`: its stored state while vouched for,
/// [`State::Unknown`] past `vouched_until` (and when `now` is not a number).
pub fn shown_state(server: &PageServer, now: f64) -> State {
    if now <= server.vouched_until as f64 {
        server.state
    } else {
        State::Unknown
    }
}

/// The class and the word of a state.
fn state_class(state: State) -> char {
    match state {
        State::Online => 'o',
        State::Offline => 'd',
        State::Maintenance => 'm',
        State::Unknown => 'u',
    }
}

fn state_word(state: State, w: &Words) -> &'static str {
    match state {
        State::Online => w.states[0],
        State::Offline => w.states[1],
        State::Maintenance => w.states[2],
        State::Unknown => w.states[3],
    }
}

fn reason_word(reason: StateReason, w: &Words) -> &'static str {
    match reason {
        StateReason::Unreachable => w.reasons[0],
        StateReason::Timeout => w.reasons[1],
        StateReason::BadAnswer => w.reasons[2],
    }
}

/// The summary line's class and words for a mix of shown states: any offline is an outage
/// (major when all are), then maintenance, then what is not known; all online is the only
/// "operational".
pub fn summary_line(states: &[State], w: &Words) -> (char, &'static str) {
    let count = |s: State| states.iter().filter(|&&x| x == s).count();
    let (off, mnt, unk) = (
        count(State::Offline),
        count(State::Maintenance),
        count(State::Unknown),
    );
    match () {
        _ if states.is_empty() => ('u', w.no_servers),
        _ if off == states.len() => ('d', w.major),
        _ if off > 0 => ('p', w.partial),
        _ if mnt > 0 => ('m', w.maintenance_now),
        _ if unk == states.len() => ('u', w.none_known),
        _ if unk > 0 => ('u', w.some_unknown),
        _ => ('o', w.all_ok),
    }
}

/// The summary line and the operators' notices: each server's message, and its planned
/// end of maintenance, with its name when the page lists several.
fn summary(out: &mut String, servers: &[PageServer], now: f64, w: &Words) {
    let states: Vec<State> = servers.iter().map(|s| shown_state(s, now)).collect();
    let (class, line) = summary_line(&states, w);
    let _ = write!(out, "<p class=\"sum {class}\" role=\"status\">{line}</p>");
    let mut open = false;
    for (server, state) in servers.iter().zip(&states) {
        let maintenance = *state == State::Maintenance;
        if server.message.is_none() && !maintenance {
            continue;
        }
        out.push_str(if open { "<li>" } else { "<ul><li>" });
        open = true;
        if servers.len() > 1 {
            out.push_str("<strong>");
            escape::push(out, &server.name, MAX_NAME_CHARS);
            out.push_str(":</strong> ");
        }
        if maintenance {
            maintenance_words(out, server, w);
            out.push_str(". ");
        }
        if let Some(message) = &server.message {
            escape::push(out, message, MAX_NOTICE_CHARS);
        }
        out.push_str("</li>");
    }
    if open {
        out.push_str("</ul>");
    }
}

/// `Maintenance until 2026-12-07 18:00 UTC` (without `until` when no valid end is stored).
fn maintenance_words(out: &mut String, server: &PageServer, w: &Words) {
    out.push_str(w.states[2]);
    if let Some(until) = server.maintenance_until.and_then(whole) {
        let _ = write!(out, " {} ", w.until);
        push_time(out, until);
    }
}

/// One server: name, state, players, sparkline, bars, uptime windows, incidents.
fn server_section(out: &mut String, server: &PageServer, generated_at: u64, now: f64, w: &Words) {
    let state = shown_state(server, now);
    out.push_str("<section><h2>");
    escape::push(out, &server.name, MAX_NAME_CHARS);
    let _ = write!(out, "</h2><p class=\"{}\"><strong>", state_class(state));
    match state {
        State::Maintenance => maintenance_words(out, server, w),
        _ => out.push_str(state_word(state, w)),
    }
    out.push_str("</strong>");
    if state == State::Unknown && server.state != State::Unknown {
        let _ = write!(out, " · {} {}", w.was, state_word(server.state, w));
    } else if let Some(reason) = server.state_reason.filter(|_| state != State::Online) {
        let _ = write!(out, " · {}", reason_word(reason, w));
    }
    let _ = write!(out, "</p><p>{}: ", w.players);
    let count = |n: Option<u64>| n.filter(|&n| n <= MAX_PLAYERS && state == State::Online);
    push_count(out, count(server.players));
    out.push_str(" / ");
    push_count(out, server.max_players.filter(|&n| n <= MAX_PLAYERS));
    let _ = write!(out, "</p><h3>{}</h3>", w.players_24h);
    svg::sparkline(out, &server.players_24h, w);
    let _ = write!(out, "<h3>{}</h3>", w.days);
    svg::bars(out, &server.days, w);
    out.push_str("<dl>");
    let u = &server.uptime;
    for (label, value) in w.windows.iter().zip([u.h24, u.d7, u.d30, u.d90]) {
        let _ = write!(out, "<dt>{} {label}</dt><dd>", w.uptime);
        push_percent(out, value.unwrap_or(f64::NAN));
        out.push_str("</dd>");
    }
    let _ = write!(out, "</dl><h3>{}</h3>", w.incidents);
    incidents(out, &server.incidents, generated_at, w);
    out.push_str("</section>");
}

fn push_count(out: &mut String, n: Option<u64>) {
    match n {
        Some(n) => push_uint(out, n),
        None => out.push_str(DASH),
    }
}

/// The incidents of the last 14 days (as of `generated_at`), newest first as stored, at
/// most [`MAX_PAGE_INCIDENTS`]: state and reason, start, end or "ongoing", duration.
fn incidents(out: &mut String, list: &[PageIncident], generated_at: u64, w: &Words) {
    let since = i64::try_from(generated_at)
        .unwrap_or(i64::MAX)
        .saturating_sub(INCIDENT_WINDOW_S);
    let recent = list
        .iter()
        .filter(|i| i.end.unwrap_or(i64::MAX) >= since)
        .take(MAX_PAGE_INCIDENTS);
    let mut open = false;
    for incident in recent {
        out.push_str(if open { "<li>" } else { "<ul><li>" });
        open = true;
        let state = incident.state;
        out.push_str("<span class=\"");
        out.push(state_class(state));
        out.push_str("\">");
        out.push_str(state_word(state, w));
        if let Some(reason) = incident.reason {
            out.push_str(" · ");
            out.push_str(reason_word(reason, w));
        }
        out.push_str("</span> ");
        push_time(out, incident.start);
        out.push_str(" – ");
        match incident.end {
            Some(end) => push_time(out, end),
            None => out.push_str(w.ongoing),
        }
        out.push_str(" (");
        push_duration(out, incident.duration_s, &w.units);
        out.push_str(")</li>");
    }
    if open {
        out.push_str("</ul>");
    } else {
        let _ = write!(out, "<p>{}</p>", w.no_incidents);
    }
}

#[cfg(test)]
mod tests;
