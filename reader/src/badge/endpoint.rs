//! Request to response for the two badge routes, over the same read as `/server/status`
//! (and, for `show=uptime` only, one more: the history's).

use status_document::{ServerId, State, vouched_state};

use super::options::{BadgeOptions, server_name};
use super::words::Shown;
use super::{Extras, render_svg, shields_json};
use crate::cache;
use crate::error::ServeError;
use crate::fetch::{Source, fetch, validate};
use crate::history;
use crate::request::RequestHead;
use crate::respond::{JSON, Response};
use crate::store::Store;

/// Which badge representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Svg,
    Shields,
}

/// Served with every SVG: opened on its own (not as an `<img>`), the badge may not run
/// script or load anything, even if an escaping bug let markup through.
const SVG_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors *";

/// `Cache-Control` when there is no document to judge (Redis down, nothing published): the
/// `unknown` badge must not outlive the outage in any cache.
const NO_STORE: &str = "no-store";

/// Answers `badge.svg` or `shields.json` for server `id`, whose document is at `key`.
pub async fn serve<S: Store>(
    req: &RequestHead,
    key: &str,
    id: &ServerId,
    store: &S,
    now: f64,
    kind: Kind,
) -> Response {
    let mut options = match BadgeOptions::from_target(&req.path_with_query) {
        Ok(o) => o,
        Err(e) => return Response::error(ServeError::InvalidOption(e)),
    };
    // `label=$name`: the game server's own name from the document, else the id (`default`
    // keeps the language's label: "default" names nothing to a player).
    let name_fallback = (!id.is_default()).then(|| id.to_string());
    if options.server_name {
        options.label = name_fallback.clone();
    }
    let judged = fetch(store, key).await.and_then(|fetched| {
        let view = validate(&fetched.bytes)?;
        let f = view.freshness(now);
        let primary = fetched.source == Source::Primary;
        if options.server_name {
            options.label = server_name(&fetched.bytes).or(name_fallback);
        }
        Ok(Judged {
            state: vouched_state(view.state, &f, fetched.source),
            extras: Extras::of(&view),
            cache_control: cache::cache_control(&f, view.rewrite_interval_s(), primary),
            max_age: cache::max_age(&f, primary, view.rewrite_interval_s()),
            etag: cache::etag(
                view.schema_version,
                view.updated_at,
                fetched.bytes.len(),
                view.live_stamps(),
            ),
            last_modified: cache::http_date(view.updated_at),
        })
    });
    let mut judged = match judged {
        Ok(j) => j,
        // No document to vouch for: say so with the badge rather than a broken image.
        Err(_) => return body(kind, State::Unknown, None, &options, 0, NO_STORE.to_owned()),
    };
    if options.show.contains(&Shown::Uptime) {
        // A history that cannot be read leaves the uptime out; the badge itself stands.
        if let Ok((head, stored)) = history::read(store, key).await {
            judged.extras.uptime = head.uptime.month;
            // The tag names both reads: a new history write must not get a 304.
            let inner = history::etag(&head, stored.len());
            judged.etag = format!(
                "{}-{}\"",
                judged.etag.trim_end_matches('"'),
                inner.trim_matches('"')
            );
        }
    }
    let etag = variant_etag(&judged.etag, kind, judged.state);
    let mut headers = Vec::with_capacity(8);
    if let Some(date) = judged.last_modified {
        headers.push(("last-modified", date));
    }
    let matched = cache::none_match(&req.if_none_match, &etag);
    headers.push(("etag", etag));
    if matched {
        headers.push(("cache-control", judged.cache_control));
        return Response::not_modified(headers);
    }
    let mut r = body(
        kind,
        judged.state,
        Some(&judged.extras),
        &options,
        judged.max_age,
        judged.cache_control,
    );
    r.headers.extend(headers);
    r
}

struct Judged {
    state: State,
    extras: Extras,
    cache_control: String,
    max_age: u64,
    etag: String,
    last_modified: Option<String>,
}

fn body(
    kind: Kind,
    state: State,
    extras: Option<&Extras>,
    options: &BadgeOptions,
    max_age: u64,
    cache_control: String,
) -> Response {
    let (content_type, body) = match kind {
        Kind::Svg => (
            "image/svg+xml; charset=utf-8",
            render_svg(state, extras, options).into_bytes(),
        ),
        Kind::Shields => (JSON, shields_json(state, extras, options, max_age)),
    };
    let mut headers = vec![
        ("content-type", content_type.to_owned()),
        ("cache-control", cache_control),
        ("x-content-type-options", "nosniff".to_owned()),
    ];
    if kind == Kind::Svg {
        headers.push(("content-security-policy", SVG_CSP.to_owned()));
    }
    Response {
        status: 200,
        headers,
        body,
    }
}

/// The document's tag plus the representation (`s`/`j`) and the vouched state.
fn variant_etag(document_tag: &str, kind: Kind, state: State) -> String {
    let representation = match kind {
        Kind::Svg => 's',
        Kind::Shields => 'j',
    };
    cache::state_etag(document_tag, representation, state)
}

#[cfg(test)]
mod tests {
    use crate::badge::svg::size;
    use crate::request::RequestHead;
    use crate::serve::handle;
    use crate::store::StoreError;
    use crate::store::memory::MemoryStore;
    use crate::testing::{T0, ask, config, document, live, live_document, probe};
    use status_document::{BuildOptions, RowValue, State};

    fn doc(state: &str) -> Vec<u8> {
        document(RowValue::Float(7.5), &BuildOptions::default(), state)
    }

    fn get(store: &MemoryStore, target: &str, now: f64) -> crate::Response {
        ask(store, "GET", target, now)
    }

    fn text(r: &crate::Response) -> &str {
        std::str::from_utf8(&r.body).unwrap()
    }

    #[test]
    fn fresh_badge_caches_like_the_json() {
        let s = MemoryStore::default().with("k", &doc("online"), 900);
        let badge = get(&s, "/server/status/badge.svg?show=exp", T0 + 100.5);
        let json = get(&s, "/server/status", T0 + 100.5);
        assert_eq!(badge.status, 200);
        assert_eq!(
            badge.header("content-type"),
            Some("image/svg+xml; charset=utf-8")
        );
        assert!(text(&badge).contains("server: online · EXP ×7.5"));
        assert!(text(&badge).contains("#4c1"));
        for h in [
            "cache-control",
            "last-modified",
            "access-control-allow-origin",
        ] {
            assert_eq!(badge.header(h), json.header(h), "{h}");
        }
        let etag = badge.header("etag").unwrap();
        assert_ne!(Some(etag), json.header("etag"));
        assert!(etag.ends_with("-s-online\""), "{etag}");
        assert!(
            badge
                .header("content-security-policy")
                .unwrap()
                .starts_with("default-src 'none'")
        );

        let mut again = RequestHead::new("GET", "/server/status/badge.svg?show=exp");
        again.if_none_match = vec![etag.as_bytes().to_vec()];
        let r = handle(&again, &config(), &s, T0 + 200.0);
        assert_eq!((r.status, r.body.len()), (304, 0));
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=400, stale-while-revalidate=600, stale-if-error=86400")
        );
    }

    #[test]
    fn past_the_ttl_the_tag_changes_with_the_state() {
        let s = MemoryStore::default().with("k", &doc("online"), -1);
        let fresh = get(&s, "/server/status/badge.svg", T0 + 10.0);
        let expired = get(&s, "/server/status/badge.svg", T0 + 901.0);
        assert!(text(&expired).contains("server: unknown"));
        assert!(text(&expired).contains("#9f9f9f"));
        // A cache holding the online badge must not get a 304 for it now.
        let mut req = RequestHead::new("GET", "/server/status/badge.svg");
        req.if_none_match = vec![fresh.header("etag").unwrap().as_bytes().to_vec()];
        assert_eq!(handle(&req, &config(), &s, T0 + 901.0).status, 200);
        assert_ne!(fresh.header("etag"), expired.header("etag"));
    }

    #[test]
    fn last_good_and_outages_are_unknown() {
        let s = MemoryStore::default().with("k:last_good", &doc("online"), -1);
        let r = get(
            &s,
            "/server/status/shields.json?lang=ru&show=exp",
            T0 + 10.0,
        );
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["message"], "неизвестно", "no rates beside unknown");
        assert_eq!(v["color"], "lightgrey");
        assert_eq!(v["cacheSeconds"], 5);

        let down = MemoryStore::default().failing("k", StoreError::Unavailable);
        let r = get(&down, "/server/status/badge.svg", T0);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert!(text(&r).contains("server: unknown"));
        assert_eq!(r.header("etag"), None);
    }

    #[test]
    fn shields_json_for_each_state() {
        for (state, color) in [
            ("online", "brightgreen"),
            ("offline", "red"),
            ("maintenance", "yellow"),
        ] {
            let s = MemoryStore::default().with("k", &doc(state), 900);
            let r = get(&s, "/server/status/shields.json?label=realm", T0 + 100.0);
            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(v["schemaVersion"], 1);
            assert_eq!(
                (v["label"].as_str(), v["message"].as_str()),
                (Some("realm"), Some(state))
            );
            assert_eq!(v["color"], color);
            assert_eq!(v["cacheSeconds"], 500);
        }
    }

    #[test]
    fn show_players() {
        let with_count = |players: u64| {
            live_document(
                State::Online,
                &live(probe(true, T0 + 50.0, 10), Some(players)),
            )
        };
        let at = T0 + 51.0;
        let s = MemoryStore::default().with("k", &with_count(150), 900);
        let svg = get(&s, "/server/status/badge.svg?show=players", at);
        assert!(
            text(&svg).contains("<title>server: online · 150 players</title>"),
            "{}",
            text(&svg)
        );
        let json = get(
            &s,
            "/server/status/shields.json?lang=ru&show=players,exp",
            at,
        );
        let v: serde_json::Value = serde_json::from_slice(&json.body).unwrap();
        assert_eq!(v["message"], "онлайн · 150 игроков · Опыт ×2");
        for (n, ru) in [
            (1, "1 игрок"),
            (2, "2 игрока"),
            (11, "11 игроков"),
            (21, "21 игрок"),
        ] {
            let s = MemoryStore::default().with("k", &with_count(n), 900);
            let r = get(&s, "/server/status/shields.json?lang=ru&show=players", at);
            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(v["message"], format!("онлайн · {ru}"));
        }
        // The width is measured from the text, through the Verdana table.
        let plain = get(&s, "/server/status/badge.svg", at);
        let width = |r: &crate::Response| {
            let t = text(r);
            let w = t
                .split_once("width=\"")
                .unwrap()
                .1
                .split_once('"')
                .unwrap()
                .0;
            w.parse::<u64>().unwrap()
        };
        let expected = size(&crate::badge::svg::Badge {
            label: "server",
            message: "online · 150 players",
            color: "#4c1",
            style: crate::badge::svg::Style::Flat,
        });
        assert_eq!(width(&svg), expected.0);
        assert!(width(&svg) > width(&plain));

        // No count in the document (no players query): the option adds nothing.
        let without = MemoryStore::default().with("k", &doc("online"), 900);
        let r = get(&without, "/server/status/badge.svg?show=players", T0 + 10.0);
        assert!(text(&r).contains("<title>server: online</title>"));
        let r = get(
            &without,
            "/server/status/shields.json?show=players,exp",
            T0 + 10.0,
        );
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["message"], "online · EXP ×7.5");

        // A count the refresher kept through a long failure of the query is not shown.
        let mut old: serde_json::Value = serde_json::from_slice(&with_count(150)).unwrap();
        old["players_at"] = (T0 - 901.0).into();
        let s = MemoryStore::default().with("k", &serde_json::to_vec(&old).unwrap(), 900);
        let r = get(&s, "/server/status/shields.json?show=players", at);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["message"], "online");
    }

    #[test]
    fn bad_options_are_400_and_never_touch_redis() {
        let s = MemoryStore::default().with("k", &doc("online"), 900);
        for q in [
            "style=plastic",
            "lang=de",
            "show=gold",
            "label=%E2%80%AEx",
            "label=%ZZ",
        ] {
            let r = get(&s, &format!("/server/status/badge.svg?{q}"), T0);
            assert_eq!(r.status, 400, "{q}");
            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(v["error"], "invalid_option");
        }
        assert!(s.calls().is_empty());
    }

    #[test]
    fn head_has_no_body() {
        let s = MemoryStore::default().with("k", &doc("online"), 900);
        for path in ["/server/status/badge.svg", "/server/status/widget.js"] {
            let r = ask(&s, "HEAD", path, T0);
            assert_eq!((r.status, r.body.len()), (200, 0), "{path}");
        }
    }
}
