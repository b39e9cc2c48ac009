//! The history's arithmetic: telescoping seconds, gaps as unknown, clock steps, bounds.

use proptest::prelude::*;

use super::*;
use crate::live::StateReason;
use crate::state::State;

/// A fixed origin on a bucket boundary of both series (2023-11-14T22:00:00Z).
const T0: f64 = 1_700_000_000.0 - 1_700_000_000.0 % 3600.0;

fn obs(at: f64, state: State) -> Observation {
    Observation::plain(at, state, 3)
}

/// One observation a second from `from` to `to` (exclusive), all in `state`.
fn every_second(h: &mut History, from: u32, to: u32, state: State) {
    for s in from..to {
        assert!(
            h.record(&obs(T0 + f64::from(s) + 0.25, state)).is_empty(),
            "no note at {s}"
        );
    }
}

#[test]
fn the_first_observation_starts_the_period_and_counts_nothing() {
    let mut h = History::new();
    assert_eq!(h.view().since, None);
    assert_eq!(h.view().uptime.day, None);
    h.record(&obs(T0 + 0.7, State::Online));
    let v = h.view();
    assert_eq!(v.since, Some(T0 as i64));
    assert_eq!(v.seconds.day.total(), 0);
    assert_eq!(
        v.uptime.day, None,
        "nothing observed for any length of time"
    );
    assert_eq!(h.fine.buckets[0].samples, 1);
}

#[test]
fn one_second_probes_add_up_to_the_wall_time_exactly() {
    let mut h = History::new();
    every_second(&mut h, 0, 1000, State::Online);
    let v = h.view();
    assert_eq!(v.seconds.day.online, 999);
    assert_eq!(v.seconds.month.online, 999);
    assert_eq!(v.uptime.day, Some(100.0));
    // 999 seconds over buckets of 300: 300, 300, 300, 99.
    let totals: Vec<u64> = h.fine.buckets.iter().map(Bucket::total).collect();
    assert_eq!(totals, [300, 300, 300, 99]);
    assert_eq!(h.fine.buckets[0].samples, 300);
    assert_eq!(h.seq, 1000);
}

#[test]
fn flaps_are_counted_per_state_with_incidents_newest_first() {
    let mut h = History::new();
    every_second(&mut h, 0, 100, State::Online);
    let mut down = obs(T0 + 100.25, State::Offline);
    down.reason = Some(StateReason::Unreachable);
    h.record(&down);
    every_second(&mut h, 101, 160, State::Offline);
    every_second(&mut h, 160, 400, State::Online);
    let v = h.view();
    // [0,100) online, [100,160) offline, [160,399) online.
    assert_eq!(v.seconds.day.online, 100 + 239);
    assert_eq!(v.seconds.day.offline, 60);
    assert_eq!(v.uptime.day, Some(84.96)); // 339 / 399 = 84.962…, rounded down
    let at: Vec<(i64, State, u64)> = v
        .incidents
        .iter()
        .map(|i| (i.at - T0 as i64, i.to, i.duration_s))
        .collect();
    assert_eq!(at, [(160, State::Online, 60), (100, State::Offline, 100)]);
    assert_eq!(v.incidents[1].reason, Some(StateReason::Unreachable));
    assert_eq!(v.incidents[1].kind, IncidentKind::Outage);
    assert_eq!(v.incidents[0].kind, IncidentKind::Recovery);
}

#[test]
fn unvouched_time_is_unknown_never_up() {
    let mut h = History::new();
    h.record(&obs(T0, State::Online));
    let notes = h.record(&obs(T0 + 100.0, State::Online));
    assert_eq!(notes, [Note::Gap { unknown_s: 97 }]);
    let v = h.view();
    assert_eq!((v.seconds.day.online, v.seconds.day.unknown), (3, 97));
    assert_eq!(v.uptime.day, Some(100.0), "unknown counts against nothing");
    assert!(v.incidents.is_empty(), "a gap is not a change of state");
}

#[test]
fn maintenance_is_its_own_incident_and_not_downtime() {
    let mut h = History::new();
    every_second(&mut h, 0, 60, State::Online);
    let mut m = obs(T0 + 60.0, State::Maintenance);
    m.maintenance_until = Some(T0 + 200.0);
    h.record(&m);
    every_second(&mut h, 61, 120, State::Maintenance);
    every_second(&mut h, 120, 180, State::Online);
    let v = h.view();
    assert_eq!(v.seconds.day.maintenance, 60);
    assert_eq!(v.seconds.day.offline, 0);
    assert_eq!(v.uptime.day, Some(100.0));
    let m = v.incidents[1];
    assert_eq!(m.kind, IncidentKind::Maintenance);
    assert_eq!(m.maintenance_until, Some(T0 + 200.0));
    assert_eq!(v.incidents[0].maintenance_until, None);
}

#[test]
fn a_small_step_back_counts_nothing_twice() {
    let mut h = History::new();
    every_second(&mut h, 0, 50, State::Online);
    let notes = h.record(&obs(T0 + 40.0, State::Online));
    assert_eq!(notes, [Note::ClockStepBack { by_s: 9 }]);
    // The clock has caught up: counting resumes from the last observation (49), not 40.
    every_second(&mut h, 50, 60, State::Online);
    assert_eq!(h.view().seconds.day.online, 59);
}

#[test]
fn buckets_in_the_future_are_dropped_with_a_note() {
    let mut h = History::new();
    every_second(&mut h, 0, 10, State::Online);
    // The clock jumps two hours ahead, records, and an incident happens there.
    h.record(&obs(T0 + 7200.0, State::Offline));
    h.record(&obs(T0 + 7201.0, State::Offline));
    assert_eq!(h.incidents.len(), 1);
    // Stepped back to the right time.
    let notes = h.record(&obs(T0 + 20.0, State::Online));
    assert!(matches!(
        notes.as_slice(),
        [Note::FutureDropped { buckets, incidents: 1 }] if *buckets > 0
    ));
    assert!(h.fine.newest_start().unwrap() <= T0 as i64 + 20);
    assert!(h.coarse.newest_start().unwrap() <= T0 as i64 + 20);
    assert!(h.incidents.is_empty());
    every_second(&mut h, 21, 30, State::Online);
    let v = h.view();
    assert!(v.seconds.day.total() <= 30, "{:?}", v.seconds.day);
}

#[test]
fn the_series_roll_and_stay_bounded() {
    let mut h = History::new();
    // One observation a minute for 31 days, vouched for two minutes.
    let mut state = State::Online;
    for m in 0u32..(31 * 24 * 60) {
        if m % 397 == 0 {
            state = if state == State::Online {
                State::Offline
            } else {
                State::Online
            };
        }
        let mut o = obs(T0 + f64::from(m) * 60.0, state);
        o.vouch_s = 120;
        o.players = Some(u64::from(m % 300));
        h.record(&o);
    }
    assert_eq!(h.fine.buckets.len(), FINE_BUCKETS);
    assert_eq!(h.coarse.buckets.len(), COARSE_BUCKETS);
    assert_eq!(h.incidents.len(), MAX_INCIDENTS);
    let v = h.view();
    assert_eq!(v.seconds.month.unknown, 0);
    assert!(v.seconds.month.total() <= 30 * 86_400);
    assert!(v.seconds.day.total() <= 86_400 && v.seconds.day.total() >= 86_400 - 300);
    assert!(v.seconds.week.total() <= 7 * 86_400);
    let json = h.to_json();
    assert!(json.len() <= MAX_HISTORY_BYTES, "{}", json.len());
    assert_eq!(History::parse(&json).unwrap(), h);
}

#[test]
fn the_worst_case_is_trimmed_to_the_bound() {
    let mut h = History::new();
    let big = Bucket {
        seconds: [1000, 1000, 1000, 600],
        samples: 3600,
        players: Some(PlayerStats {
            samples: 3600,
            min: u64::MAX / 4,
            max: u64::MAX / 2,
            sum: u64::MAX,
        }),
    };
    h.record(&obs(T0, State::Online));
    h.fine.buckets = vec![big; FINE_BUCKETS];
    h.coarse.buckets = vec![big; COARSE_BUCKETS];
    h.daily.buckets = vec![big; DAILY_BUCKETS];
    let json = h.to_json();
    assert!(json.len() <= MAX_HISTORY_BYTES, "{}", json.len());
    assert!(
        h.coarse.buckets.len() < COARSE_BUCKETS,
        "the oldest hours went first"
    );
    assert_eq!(h.fine.buckets.len(), FINE_BUCKETS, "the last day is kept");
}

#[test]
fn what_cannot_be_served_is_refused() {
    let too_large = vec![b' '; MAX_HISTORY_BYTES + 1];
    assert_eq!(
        History::parse(&too_large),
        Err(HistoryError::TooLarge(MAX_HISTORY_BYTES + 1))
    );
    assert!(matches!(
        History::parse(b"{nope"),
        Err(HistoryError::Json(_))
    ));
    assert!(matches!(History::parse(b"[]"), Err(HistoryError::Json(_))));
    let mut h = History::new();
    every_second(&mut h, 0, 10, State::Online);
    let good = String::from_utf8(h.to_json()).unwrap();
    assert!(History::parse(good.as_bytes()).is_ok());
    let v2 = good.replacen("\"schema_version\":1", "\"schema_version\":2", 1);
    assert_eq!(History::parse(v2.as_bytes()), Err(HistoryError::Version(2)));
    // A bucket holding more than its width.
    let mut over = h.clone();
    over.fine.buckets[0].seconds[0] = 301;
    let over = over.to_json();
    assert!(matches!(
        History::parse(&over),
        Err(HistoryError::Invalid(_))
    ));
    let bad_bucket = good.replacen("\"buckets\":[[", "\"buckets\":[[1,2,", 1);
    assert!(History::parse(bad_bucket.as_bytes()).is_err());
    assert_eq!(h.record(&obs(f64::NAN, State::Online)), [Note::InvalidTime]);
}

#[test]
fn uptime_rounds_down_and_is_null_without_judged_time() {
    let s = |online, offline| Seconds {
        online,
        offline,
        maintenance: 5,
        unknown: 5,
    };
    assert_eq!(s(0, 0).uptime(), None);
    assert_eq!(s(99_999, 1).uptime(), Some(99.99));
    assert_eq!(s(0, 10).uptime(), Some(0.0));
    assert_eq!(s(997, 3).uptime(), Some(99.7));
}

#[test]
fn the_view_names_are_the_contract() {
    let mut h = History::new();
    every_second(&mut h, 0, 5, State::Online);
    let v: serde_json::Value = serde_json::from_slice(&h.view().to_json()).unwrap();
    for key in [
        "since",
        "uptime",
        "seconds",
        "incidents",
        "series",
        "updated_at",
        "state",
    ] {
        assert!(v.get(key).is_some(), "{key}");
    }
    for w in ["24h", "7d", "30d"] {
        assert_eq!(v["uptime"][w], 100.0);
        assert_eq!(v["seconds"][w]["online"], 4);
        assert_eq!(v["seconds"][w]["unknown"], 0);
    }
    assert_eq!(v["series"]["5m"]["width_s"], 300);
    assert_eq!(v["series"]["1h"]["fields"][0], "online");
    assert_eq!(v["series"]["1d"]["width_s"], 86_400);
    assert_eq!(
        v["series"]["5m"]["buckets"][0],
        serde_json::json!([4, 0, 0, 0, 5])
    );
}

fn any_state() -> impl Strategy<Value = State> {
    prop::sample::select(State::ALL.to_vec())
}

proptest! {
    /// Whatever the clock does, no bucket holds more than its width, the stored form reads
    /// back as written, and the view's numbers are sane.
    #[test]
    fn any_sequence_stays_within_wall_time(
        steps in prop::collection::vec((-4000i64..9000, any_state(), 0u64..600, prop::option::of(0u64..500)), 1..120)
    ) {
        let mut h = History::new();
        let mut t = T0;
        for (step, state, vouch, players) in steps {
            t += step as f64;
            let mut o = obs(t, state);
            o.vouch_s = vouch;
            o.players = players;
            h.record(&o);
        }
        for b in &h.fine.buckets {
            prop_assert!(b.total() <= FINE_WIDTH_S as u64);
        }
        for b in &h.coarse.buckets {
            prop_assert!(b.total() <= COARSE_WIDTH_S as u64);
        }
        for b in &h.daily.buckets {
            prop_assert!(b.total() <= DAILY_WIDTH_S as u64);
        }
        let json = h.to_json();
        prop_assert!(json.len() <= MAX_HISTORY_BYTES);
        prop_assert_eq!(&History::parse(&json).unwrap(), &h);
        let v = h.view();
        for u in [v.uptime.day, v.uptime.week, v.uptime.month].into_iter().flatten() {
            prop_assert!((0.0..=100.0).contains(&u));
        }
        prop_assert!(v.seconds.day.total() <= 86_400);
    }

    /// With a clock that only moves forward, every second between the first and the last
    /// observation is counted exactly once (as a state or as unknown), within 30 days.
    #[test]
    fn forward_time_telescopes(
        steps in prop::collection::vec((0i64..2000, any_state(), 0u64..900), 1..200)
    ) {
        let mut h = History::new();
        let mut t = T0 + 0.5;
        h.record(&obs(t, State::Online));
        for (step, state, vouch) in steps {
            t += step as f64;
            let mut o = obs(t, state);
            o.vouch_s = vouch;
            h.record(&o);
        }
        let elapsed = (t.floor() - T0) as u64;
        prop_assume!(elapsed < 29 * 86_400);
        prop_assert_eq!(h.view().seconds.month.total(), elapsed);
        let transitions = h.incidents.windows(2).all(|w| w[0].to == w[1].from && w[0].at <= w[1].at);
        prop_assert!(transitions);
    }
}

#[test]
fn the_head_is_what_the_reader_needs_and_the_rest_must_be_there() {
    let mut h = History::new();
    every_second(&mut h, 0, 100, State::Online);
    h.record(&obs(T0 + 100.0, State::Offline));
    let json = h.to_json();
    let head = HistoryHead::parse(&json).unwrap();
    assert_eq!(
        (head.since, head.seq, head.state, head.vouched_until),
        (Some(T0 as i64), 101, State::Offline, Some(T0 as i64 + 103))
    );
    assert_eq!(head.uptime.month, Some(100.0));
    let mut v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    v.as_object_mut().unwrap().remove("series");
    assert!(matches!(
        HistoryHead::parse(&serde_json::to_vec(&v).unwrap()),
        Err(HistoryError::Json(_))
    ));
    let mut v9: serde_json::Value = serde_json::from_slice(&json).unwrap();
    v9["schema_version"] = 9.into();
    assert_eq!(
        HistoryHead::parse(&serde_json::to_vec(&v9).unwrap()),
        Err(HistoryError::Version(9))
    );
    assert_eq!(
        HistoryHead::parse(&vec![b' '; MAX_HISTORY_BYTES + 1]),
        Err(HistoryError::TooLarge(MAX_HISTORY_BYTES + 1))
    );
}
