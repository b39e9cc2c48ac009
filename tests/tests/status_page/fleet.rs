//! Realistic page documents, made as the refresher makes them: each server's [`History`] is
//! recorded one probe every five minutes over weeks with [`History::record`], and the page's
//! half is derived from it by [`PageServer::build`] (the document crate's own builder).

use status_document::history::{History, Observation};
use status_document::page::{PageDocument, PageFacts, PageServer};
use status_document::servers::Headline;
use status_document::{ServerId, State, StateReason};

/// One probe every five minutes, each vouched for two probes long.
const STEP_S: i64 = 300;
const DAY_S: i64 = 86_400;
const MIN_S: i64 = 60;

/// The page's notice of the server in maintenance.
pub const NOTICE: &str = "Updating to version 2.0: new quests and faster logins.";

/// A span out of `online`, `from` and `to` seconds before now (`to` -1: still going on).
struct Event {
    from: i64,
    to: i64,
    state: State,
    reason: Option<StateReason>,
}

/// `minutes` long, begun `ago` seconds before now.
fn spell(ago: i64, minutes: i64, state: State, reason: Option<StateReason>) -> Event {
    let to = ago - minutes * MIN_S;
    Event {
        from: ago,
        to,
        state,
        reason,
    }
}

/// Begun `ago` seconds before now, and still going on.
fn ongoing(ago: i64, state: State, reason: Option<StateReason>) -> Event {
    Event {
        from: ago,
        to: -1,
        state,
        reason,
    }
}

/// `days` of history up to `now`, online but for `events`; players follow the time of day
/// (quiet at night, busy in the evening) while online.
fn history(now: i64, days: i64, events: &[Event], maintenance_until: Option<f64>) -> History {
    let mut h = History::new();
    let first = now - days * DAY_S;
    let mut at = first - first.rem_euclid(STEP_S);
    while at <= now {
        let ago = now - at;
        let out = events.iter().find(|e| ago <= e.from && ago > e.to);
        let (state, reason) = out.map_or((State::Online, None), |e| (e.state, e.reason));
        let hour = at.rem_euclid(DAY_S) as f64 / 3600.0;
        let busy = 0.55 - 0.45 * ((hour - 20.0) / 24.0 * std::f64::consts::TAU).cos();
        h.record(&Observation {
            at: at as f64,
            state,
            reason,
            players: (state == State::Online).then_some((busy * 180.0) as u64 + 12),
            vouch_s: 2 * STEP_S as u64,
            maintenance_until: maintenance_until.filter(|_| state == State::Maintenance),
        });
        at += STEP_S;
    }
    h
}

fn facts(now: i64, state: State, reason: Option<StateReason>) -> PageFacts {
    PageFacts {
        headline: Headline {
            state,
            state_reason: reason,
            players: Some(137),
            max_players: Some(500),
            updated_at: now as u64 - 20,
        },
        message: None,
        maintenance_until: None,
        // Vouched for well beyond the browser script's run, as a probe every 5 minutes
        // with a deadline of three would be at the start of it.
        vouched_until: now as u64 + 900,
    }
}

fn server(id: &str, name: &str, facts: PageFacts, history: &History, now: i64) -> PageServer {
    let id = ServerId::parse(id).expect("a valid id");
    PageServer::build(id, name.to_owned(), facts, history, now)
}

/// Online for 30 days but for a 40-minute outage 3 days ago, a planned 2-hour maintenance
/// 10 days ago and a short unreachable spell 20 days ago.
fn eu(now: i64) -> PageServer {
    let events = [
        spell(3 * DAY_S, 40, State::Offline, Some(StateReason::Timeout)),
        spell(10 * DAY_S, 120, State::Maintenance, None),
        spell(
            20 * DAY_S,
            15,
            State::Offline,
            Some(StateReason::Unreachable),
        ),
    ];
    let h = history(now, 30, &events, None);
    let facts = facts(now, State::Online, None);
    server("eu-1", "EU 1 · Classic", facts, &h, now)
}

/// Two weeks of history; offline (unreachable) for the last 47 minutes: an ongoing incident.
fn asia(now: i64) -> PageServer {
    let unreachable = Some(StateReason::Unreachable);
    let events = [
        spell(6 * DAY_S, 25, State::Offline, unreachable),
        ongoing(47 * MIN_S, State::Offline, unreachable),
    ];
    let h = history(now, 14, &events, None);
    let facts = facts(now, State::Offline, unreachable);
    server("asia", "Asia · Hardcore", facts, &h, now)
}

/// Sixty days of history; in maintenance for the last 50 minutes, planned to end in 70,
/// with the operator's notice.
fn us(now: i64) -> PageServer {
    let until = (now + 70 * MIN_S) as f64;
    let events = [ongoing(50 * MIN_S, State::Maintenance, None)];
    let h = history(now, 60, &events, Some(until));
    let mut facts = facts(now, State::Maintenance, None);
    facts.message = Some(NOTICE.to_owned());
    facts.maintenance_until = Some(until);
    server("us-west", "US West", facts, &h, now)
}

/// Online all along for 45 days.
fn ru(now: i64) -> PageServer {
    let h = history(now, 45, &[], None);
    let facts = facts(now, State::Online, None);
    server("ru-1", "RU 1 · x5", facts, &h, now)
}

/// The fleet in trouble: one online, one offline with an ongoing incident, one in
/// maintenance with a notice.
pub fn fleet(now: i64) -> PageDocument {
    PageDocument::of([eu(now), asia(now), us(now)], 3, now as u64)
}

/// A quiet fleet: every server online.
pub fn operational(now: i64) -> PageDocument {
    PageDocument::of([eu(now), ru(now)], 2, now as u64)
}
