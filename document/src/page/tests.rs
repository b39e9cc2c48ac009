//! The page's arithmetic: daily bars, spans of incidents (ongoing, maintenance apart),
//! unknown days, the sparkline and the bounds.

use super::*;
use crate::history::Observation;
use crate::servers::Headline;

/// 2023-11-14T00:00:00Z, a UTC midnight.
const MIDNIGHT: i64 = 1_699_920_000;
const HOUR: i64 = 3600;

fn record(h: &mut History, at: i64, state: State, players: Option<u64>) {
    h.record(&Observation {
        at: at as f64,
        state,
        reason: (state == State::Offline).then_some(StateReason::Unreachable),
        players,
        vouch_s: 120,
        maintenance_until: None,
    });
}

/// One observation a minute over `[from, to)` in `state`.
fn minutes(h: &mut History, from: i64, to: i64, state: State) {
    for t in (from..to).step_by(60) {
        record(h, t, state, Some(10));
    }
}

/// One observation a minute from `start` on, through `spans` in turn: each a state and the
/// time it ends at.
fn spans(h: &mut History, start: i64, spans: &[(State, i64)]) {
    let mut from = start;
    for &(state, to) in spans {
        minutes(h, from, to, state);
        from = to;
    }
}

fn facts() -> PageFacts {
    PageFacts {
        headline: Headline {
            state: State::Online,
            state_reason: None,
            players: Some(3),
            max_players: Some(64),
            updated_at: MIDNIGHT as u64,
        },
        message: None,
        maintenance_until: None,
        vouched_until: MIDNIGHT as u64 + 30,
    }
}

fn server(h: &History, now: i64) -> PageServer {
    let id = ServerId::parse("eu-1").unwrap();
    PageServer::build(id, "EU 1".to_owned(), facts(), h, now)
}

#[test]
fn ninety_bars_end_today_and_days_before_the_history_are_unknown() {
    let mut h = History::new();
    // From 06:00 on day 0 to 12:00 on day 2, an hour offline on day 1.
    let now = MIDNIGHT + 2 * 86_400 + 12 * HOUR;
    let day_1 = MIDNIGHT + 86_400;
    spans(
        &mut h,
        MIDNIGHT + 6 * HOUR,
        &[
            (State::Online, day_1 + 10 * HOUR),
            (State::Offline, day_1 + 11 * HOUR),
            (State::Online, now),
        ],
    );
    record(&mut h, now, State::Online, Some(10));
    let page = server(&h, now);
    assert_eq!(page.days.len(), DAYS);
    let [.., d0, d1, today] = page.days[..] else {
        panic!("90 days")
    };
    assert_eq!(today.day, MIDNIGHT + 2 * 86_400);
    assert!(
        page.days[..DAYS - 3]
            .iter()
            .all(|d| d.unknown_s == 86_400 && d.online_s == 0)
    );
    assert_eq!(d0.unknown_s, 6 * 3600, "before the first observation");
    assert_eq!(d0.online_s, 18 * 3600);
    assert_eq!(
        (d1.online_s, d1.offline_s, d1.unknown_s),
        (23 * 3600, 3600, 0)
    );
    assert_eq!(
        today.online_s + today.unknown_s,
        12 * 3600,
        "only the elapsed part"
    );
    let d90 = page.uptime.d90.unwrap();
    assert!(d90 > 98.0 && d90 < 99.0, "{d90}");
    assert_eq!(page.uptime.h24, Some(100.0));
}

#[test]
fn outages_are_spans_newest_first_and_the_last_is_ongoing() {
    let mut h = History::new();
    let t = MIDNIGHT;
    let ends = [
        (State::Online, t + HOUR),
        (State::Offline, t + 2 * HOUR),
        (State::Maintenance, t + 3 * HOUR),
        (State::Online, t + 4 * HOUR),
        (State::Offline, t + 5 * HOUR),
    ];
    spans(&mut h, t, &ends);
    let now = t + 5 * HOUR;
    let page = server(&h, now);
    let got: Vec<_> = page
        .incidents
        .iter()
        .map(|i| (i.state, i.start - t, i.end.map(|e| e - t), i.duration_s))
        .collect();
    assert_eq!(
        got,
        [
            (State::Offline, 4 * HOUR, None, 3600),
            (State::Maintenance, 2 * HOUR, Some(3 * HOUR), 3600),
            (State::Offline, HOUR, Some(2 * HOUR), 3600),
        ]
    );
    assert_eq!(page.incidents[0].reason, Some(StateReason::Unreachable));
    assert_eq!(page.incidents[1].reason, None);
}

#[test]
fn maintenance_is_never_downtime() {
    let mut h = History::new();
    spans(
        &mut h,
        MIDNIGHT,
        &[
            (State::Online, MIDNIGHT + HOUR),
            (State::Maintenance, MIDNIGHT + 3 * HOUR),
            (State::Online, MIDNIGHT + 4 * HOUR + 60),
        ],
    );
    let page = server(&h, MIDNIGHT + 4 * HOUR);
    assert_eq!(page.uptime.h24, Some(100.0));
    assert_eq!(page.uptime.d90, Some(100.0));
    let today = page.days[DAYS - 1];
    assert_eq!((today.maintenance_s, today.offline_s), (2 * 3600, 0));
    assert_eq!(page.incidents.len(), 1);
    assert_eq!(page.incidents[0].state, State::Maintenance);
}

#[test]
fn a_history_that_started_out_of_online_is_an_ongoing_span_from_its_start() {
    let mut h = History::new();
    minutes(&mut h, MIDNIGHT, MIDNIGHT + HOUR, State::Unknown);
    let page = server(&h, MIDNIGHT + HOUR);
    assert_eq!(page.incidents.len(), 1);
    assert_eq!(page.incidents[0].state, State::Unknown);
    assert_eq!(
        (page.incidents[0].start, page.incidents[0].end),
        (MIDNIGHT, None)
    );
    assert_eq!(page.uptime.h24, None, "neither online nor offline seen");
}

#[test]
fn incidents_are_bounded_to_fourteen_days_and_twenty() {
    let mut h = History::new();
    // A flap every hour for 20 days: 240 outages, only the newest within 14 days kept.
    for hour in 0..(20 * 24) {
        let state = if hour % 2 == 0 {
            State::Online
        } else {
            State::Offline
        };
        let at = MIDNIGHT + hour * HOUR;
        record(&mut h, at, state, None);
        record(&mut h, at + 1800, state, None);
    }
    let now = MIDNIGHT + 20 * 24 * HOUR;
    let page = server(&h, now);
    assert_eq!(page.incidents.len(), MAX_PAGE_INCIDENTS);
    assert!(page.incidents.windows(2).all(|w| w[0].start > w[1].start));
    assert!(page.incidents.iter().all(|i| i.state == State::Offline));
    // Only spans ending within the window survive even when few are kept.
    let mut old = History::new();
    let ends = [
        (State::Offline, MIDNIGHT + HOUR),
        (State::Online, MIDNIGHT + 2 * HOUR),
    ];
    spans(&mut old, MIDNIGHT, &ends);
    assert_eq!(server(&old, MIDNIGHT + 2 * HOUR).incidents.len(), 1);
    assert!(
        server(&old, MIDNIGHT + HOUR + INCIDENT_WINDOW_S + 1)
            .incidents
            .is_empty()
    );
}

#[test]
fn the_sparkline_is_the_peak_of_each_quarter_hour() {
    let mut h = History::new();
    let now = MIDNIGHT + 10 * HOUR + 100;
    // Counts at 09:00 (5 and 9 within the first quarter), 09:20 (4); nothing else.
    record(&mut h, MIDNIGHT + 9 * HOUR, State::Online, Some(5));
    record(&mut h, MIDNIGHT + 9 * HOUR + 400, State::Online, Some(9));
    record(&mut h, MIDNIGHT + 9 * HOUR + 1200, State::Online, Some(4));
    record(&mut h, now, State::Online, None);
    let page = server(&h, now);
    assert_eq!(page.players_24h.len(), SPARK_POINTS);
    // The last point holds 10:00; 09:00 is four points before it.
    let last = SPARK_POINTS - 1;
    assert_eq!(page.players_24h[last - 4], Some(9));
    assert_eq!(page.players_24h[last - 3], Some(4));
    let counted = page.players_24h.iter().filter(|p| p.is_some()).count();
    assert_eq!(counted, 2);
}

#[test]
fn facts_bound_the_notice_and_vouch_to_the_sooner_of_ttl_and_probe() {
    let json = serde_json::json!({
        "schema_version": 1, "state": "online", "updated_at": 1000.7, "refresh_interval_s": 30,
        "ttl_s": 120, "defaulted": [], "_meta": {}, "message": "é".repeat(MAX_NOTICE_CHARS + 5),
        "game_server": {"reachable": true, "checked_at": 1005.0, "interval_s": 10,
            "deadline_s": 30, "since": 900.0, "addr_count": 1}
    });
    let document: crate::StatusDocument = serde_json::from_value(json).unwrap();
    let f = PageFacts::of(&document);
    assert_eq!(
        f.message.as_deref().map(|m| m.chars().count()),
        Some(MAX_NOTICE_CHARS)
    );
    assert_eq!((f.headline.updated_at, f.vouched_until), (1000, 1035));
    let mut page = server(&History::new(), MIDNIGHT);
    page.set_facts(f.clone());
    assert_eq!(page.vouched_until, 1035);
    assert_eq!(page.days.len(), DAYS, "an empty history is 90 unknown days");
    assert!(page.days.iter().all(|d| d.online_s == 0));
}

#[test]
fn the_document_lists_the_first_servers_and_counts_all() {
    let one = server(&History::new(), MIDNIGHT);
    let doc = PageDocument::of(vec![one; MAX_PAGE_SERVERS + 5], MAX_PAGE_SERVERS + 5, 7);
    assert_eq!(doc.servers.len(), MAX_PAGE_SERVERS);
    assert_eq!(doc.total_servers, MAX_PAGE_SERVERS + 5);
    let json = doc.to_json();
    assert!(json.len() <= MAX_PAGE_BYTES, "{}", json.len());
    let back: PageDocument = serde_json::from_slice(&json).unwrap();
    assert_eq!(back, doc);
}
