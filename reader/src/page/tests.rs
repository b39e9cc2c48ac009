//! `/status` over HTTP: one `GET`, the headers, 304, the HTML error pages, the language.
//! (Rendering itself is tested in `render/tests.rs`; these fixtures serve both.)

use status_document::page::{
    DAYS, DayBar, MAX_PAGE_INCIDENTS, PAGE_VERSION, PageDocument, PageIncident, PageServer,
    PageUptime, SPARK_POINTS,
};
use status_document::{ServerId, State, StateReason};

use super::*;
use crate::store::memory::MemoryStore;
use crate::testing::{T0, ask};

/// When the test pages are written: [`T0`], as whole seconds.
pub(crate) const GEN: u64 = T0 as u64;

/// A server with full data: online, vouched for 60 s past [`GEN`], every sparkline point,
/// every day (one with an outage, one with maintenance, one unobserved) and the most
/// incidents, the newest ongoing.
pub(crate) fn server(id: &str, state: State) -> PageServer {
    let today = (GEN as i64).div_euclid(86_400) * 86_400;
    let days = (0..DAYS as i64)
        .map(|i| DayBar {
            day: today - (DAYS as i64 - 1 - i) * 86_400,
            online_s: if i == 3 { 0 } else { 86_000 },
            offline_s: if i == 10 { 400 } else { 0 },
            maintenance_s: if i == 20 { 3_600 } else { 0 },
            unknown_s: if i == 3 { 86_400 } else { 0 },
        })
        .collect();
    let incidents = (0..MAX_PAGE_INCIDENTS as i64)
        .map(|i| PageIncident {
            state: State::Offline,
            reason: Some(StateReason::Timeout),
            start: GEN as i64 - 3_600 * (i + 1),
            end: (i > 0).then_some(GEN as i64 - 3_600 * (i + 1) + 780),
            duration_s: 780,
        })
        .collect();
    PageServer {
        id: ServerId::parse(id).unwrap(),
        name: format!("Server {id}"),
        state,
        state_reason: None,
        message: None,
        maintenance_until: None,
        players: Some(120),
        max_players: Some(1_000),
        updated_at: GEN,
        vouched_until: GEN + 60,
        players_24h: (0..SPARK_POINTS as u32).map(|i| Some(i * 10)).collect(),
        days,
        uptime: PageUptime {
            h24: Some(100.0),
            d7: Some(99.95),
            d30: Some(99.5),
            d90: Some(98.123),
        },
        incidents,
    }
}

pub(crate) fn page(servers: Vec<PageServer>) -> PageDocument {
    PageDocument {
        schema_version: PAGE_VERSION,
        generated_at: GEN,
        total_servers: servers.len(),
        servers,
    }
}

fn stored(doc: &PageDocument) -> MemoryStore {
    MemoryStore::default().with("k:page", &serde_json::to_vec(doc).unwrap(), -1)
}

fn body(r: &Response) -> String {
    String::from_utf8(r.body.clone()).unwrap()
}

#[test]
fn one_get_renders_the_page_with_its_headers() {
    let s = stored(&page(vec![server("eu-1", State::Online)]));
    let r = ask(&s, "GET", "/status", T0 + 10.0);
    assert_eq!(s.calls(), ["GET k:page"]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some(HTML));
    assert_eq!(r.header("content-security-policy"), Some(CSP));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(r.header("vary"), Some("Accept-Language"));
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=50, stale-while-revalidate=60, stale-if-error=86400")
    );
    assert_eq!(
        r.header("last-modified"),
        Some("Tue, 14 Nov 2023 22:13:20 GMT")
    );
    let len = r.body.len().to_string();
    assert_eq!(r.header("content-length"), Some(len.as_str()));
    let html = body(&r);
    assert!(html.starts_with("<!DOCTYPE html><html lang=\"en\">"));
    assert!(html.contains("All systems operational"));
    assert!(html.ends_with("</html>"));
}

#[test]
fn max_age_follows_the_earliest_vouch() {
    let mut a = server("a", State::Online);
    let mut b = server("b", State::Online);
    a.vouched_until = GEN + 500;
    b.vouched_until = GEN + 20;
    let s = stored(&page(vec![a.clone(), b.clone()]));
    let cc = |now| {
        ask(&s, "GET", "/status", now)
            .header("cache-control")
            .map(str::to_owned)
    };
    assert!(cc(T0).unwrap().contains("max-age=20,"));
    assert!(
        cc(T0 + 19.5).unwrap().contains("max-age=1,"),
        "at least 1 s"
    );
    assert!(
        cc(T0 + 30.0).unwrap().contains("max-age=60,"),
        "b lapsed; a's 470 capped"
    );
    assert!(
        cc(T0 + 1e4).unwrap().contains("max-age=5,"),
        "all lapsed: overdue"
    );
    assert!(cc(f64::NAN).unwrap().contains("max-age=5,"));
}

#[test]
fn the_tag_follows_bytes_language_and_lapsed_vouches() {
    let doc = page(vec![server("eu-1", State::Online)]);
    let s = stored(&doc);
    let tag = |target: &str, now| {
        ask(&s, "GET", target, now)
            .header("etag")
            .unwrap()
            .to_owned()
    };
    let en = tag("/status", T0);
    assert_eq!(en, tag("/status?lang=en", T0 + 5.0));
    assert_ne!(en, tag("/status?lang=ru", T0), "the language is in it");
    assert_ne!(
        en,
        tag("/status", T0 + 100.0),
        "lapsed: the page says not known"
    );
    let mut other = doc.clone();
    other.generated_at += 1;
    let t2 = ask(&stored(&other), "GET", "/status", T0)
        .header("etag")
        .map(str::to_owned);
    assert_ne!(Some(en.clone()), t2);

    let mut req = RequestHead::new("GET", "/status");
    req.if_none_match = vec![en.clone().into_bytes()];
    let r = crate::serve::handle(&req, &crate::testing::config(), &s, T0);
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    assert_eq!(r.header("etag"), Some(en.as_str()));
    assert_eq!(r.header("vary"), Some("Accept-Language"));
}

#[test]
fn the_language_comes_from_the_query_then_the_header() {
    let s = stored(&page(vec![server("eu-1", State::Online)]));
    let html = body(&ask(&s, "GET", "/status?lang=ru", T0));
    assert!(html.contains("<html lang=\"ru\">") && html.contains("Все системы работают"));
    let mut req = RequestHead::new("GET", "/status");
    req.accept_language = Some(b"ru-RU,ru;q=0.9,en;q=0.8".to_vec());
    let r = crate::serve::handle(&req, &crate::testing::config(), &s, T0);
    assert!(body(&r).contains("<html lang=\"ru\">"));
    req.path_with_query = "/status?lang=en".into();
    let r = crate::serve::handle(&req, &crate::testing::config(), &s, T0);
    assert!(body(&r).contains("<html lang=\"en\">"));
}

#[test]
fn before_the_first_write_a_503_page() {
    let s = MemoryStore::default();
    let r = ask(&s, "GET", "/status", T0);
    assert_eq!(s.calls(), ["GET k:page"]);
    assert_eq!(r.status, 503);
    assert_eq!(r.header("retry-after"), Some("30"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("content-type"), Some(HTML));
    assert_eq!(r.header("content-security-policy"), Some(CSP));
    let html = body(&r);
    assert!(html.contains("<h1>Status not known yet</h1>"), "{html}");
    assert!(html.contains("<title>Status not known yet</title>"));
    let r = ask(&s, "HEAD", "/status", T0);
    assert_eq!((r.status, r.body.len()), (503, 0));
}

#[test]
fn redis_down_and_corrupt_pages_are_html_too() {
    let s = MemoryStore::default().failing("k:page", StoreError::Unavailable);
    let r = ask(&s, "GET", "/status?lang=ru", T0);
    assert_eq!((r.status, r.header("retry-after")), (503, Some("5")));
    assert!(body(&r).contains("Состояние недоступно"));

    let s = MemoryStore::default().failing("k:page", StoreError::WrongType);
    assert_eq!(ask(&s, "GET", "/status", T0).status, 502);

    let mut wrong_version = serde_json::to_value(page(vec![])).unwrap();
    wrong_version["schema_version"] = 2.into();
    let huge = format!("\"{}\"", "x".repeat(MAX_PAGE_BYTES));
    for value in [
        b"not json".to_vec(),
        b"{}".to_vec(),
        b"\xff\xfe".to_vec(),
        serde_json::to_vec(&wrong_version).unwrap(),
        huge.into_bytes(),
    ] {
        let s = MemoryStore::default().with("k:page", &value, -1);
        let r = ask(&s, "GET", "/status", T0);
        assert_eq!(r.status, 502);
        assert_eq!(r.header("retry-after"), None);
        assert_eq!(r.header("content-type"), Some(HTML));
        assert!(body(&r).contains("<h1>Status page unreadable</h1>"));
        assert_eq!(s.calls().len(), 1);
    }
}

#[test]
fn head_and_options_like_the_other_routes() {
    let s = stored(&page(vec![server("eu-1", State::Online)]));
    let r = ask(&s, "HEAD", "/status", T0);
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert_eq!(r.header("content-type"), Some(HTML));
    let r = ask(&s, "OPTIONS", "/status", T0);
    assert_eq!(r.status, 204);
    assert_eq!(r.header("allow"), Some(crate::route::ALLOW));
}
