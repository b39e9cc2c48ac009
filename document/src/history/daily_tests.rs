//! The daily series: UTC days counted like the other series, read back from histories stored
//! before it, and a full 90 days within the stored bound.

use super::*;
use crate::state::State;

/// 2023-11-14T00:00:00Z, a UTC midnight.
const MIDNIGHT: i64 = 1_699_920_000;

fn obs(at: f64, state: State, players: Option<u64>) -> Observation {
    Observation {
        at,
        state,
        reason: None,
        players,
        vouch_s: 120,
        maintenance_until: None,
    }
}

#[test]
fn days_are_utc_aligned_and_counted_like_the_hours() {
    let mut h = History::new();
    // One observation a minute from 20:00 to 04:00 the next day, offline for an hour.
    let from = MIDNIGHT + 20 * 3600;
    for m in 0..(8 * 60) {
        let state = if (120..180).contains(&m) {
            State::Offline
        } else {
            State::Online
        };
        h.record(&obs((from + m * 60) as f64 + 0.5, state, Some(7)));
    }
    assert_eq!(h.daily.width_s, DAILY_WIDTH_S);
    assert_eq!(h.daily.start, MIDNIGHT);
    assert_eq!(h.daily.buckets.len(), 2);
    let sum = |s: &Series| s.seconds_after(i64::MIN);
    assert_eq!(sum(&h.daily), sum(&h.coarse));
    assert_eq!(h.daily.buckets[0].seconds, [3 * 3600, 3600, 0, 0]);
    assert_eq!(h.daily.buckets[1].seconds[0], 4 * 3600 - 60);
    assert_eq!(h.daily.buckets[0].players.map(|p| p.max), Some(7));
}

#[test]
fn a_history_stored_before_the_daily_series_reads_with_an_empty_one() {
    let mut h = History::new();
    for m in 0..30 {
        h.record(&obs((MIDNIGHT + m * 60) as f64, State::Online, None));
    }
    let mut stored: serde_json::Value = serde_json::from_slice(&h.to_json()).unwrap();
    assert_eq!(stored["series"]["1d"]["width_s"], DAILY_WIDTH_S);
    stored["series"]
        .as_object_mut()
        .map(|series| series.remove("1d"));
    let old = History::parse(&serde_json::to_vec(&stored).unwrap()).unwrap();
    assert!(old.daily.buckets.is_empty());
    assert_eq!(old.daily.width_s, DAILY_WIDTH_S);
    assert_eq!(old.coarse, h.coarse);
    // It fills from the next observation on.
    let mut old = old;
    old.record(&obs((MIDNIGHT + 1800) as f64, State::Online, None));
    assert_eq!(old.daily.buckets.len(), 1);
}

#[test]
fn ninety_days_roll_and_a_misaligned_or_oversized_daily_series_is_refused() {
    let mut h = History::new();
    // One observation an hour for 100 days.
    for hour in 0..(100 * 24) {
        h.record(&obs((MIDNIGHT + hour * 3600) as f64, State::Online, None));
    }
    assert_eq!(h.daily.buckets.len(), DAILY_BUCKETS);
    assert_eq!(h.daily.start, MIDNIGHT + 10 * 86_400);
    let mut stored: serde_json::Value = serde_json::from_slice(&h.to_json()).unwrap();
    stored["series"]["1d"]["start"] = serde_json::json!(MIDNIGHT + 3600);
    assert!(History::parse(&serde_json::to_vec(&stored).unwrap()).is_err());
}

/// A full history as a busy server writes it (a probe every second, 1 000 players, the
/// longest reason and 50 incidents) fits the bound without trimming anything.
#[test]
fn a_full_history_of_a_busy_server_fits_untrimmed() {
    let mut h = History::new();
    h.record(&obs(MIDNIGHT as f64, State::Online, Some(1000)));
    let bucket = |w: u64| Bucket {
        seconds: [w - 1, 1, 0, 0],
        samples: w,
        players: Some(PlayerStats {
            samples: w,
            min: 999,
            max: 1000,
            sum: w * 1000,
        }),
    };
    h.fine.buckets = vec![bucket(300); FINE_BUCKETS];
    h.coarse.buckets = vec![bucket(3600); COARSE_BUCKETS];
    h.daily.buckets = vec![bucket(86_400); DAILY_BUCKETS];
    let incident = Incident {
        at: MIDNIGHT,
        from: State::Online,
        to: State::Maintenance,
        kind: IncidentKind::Maintenance,
        reason: Some(crate::live::StateReason::BadAnswer),
        duration_s: 86_400 * 30,
        maintenance_until: Some(MIDNIGHT as f64 + 0.5),
    };
    h.incidents = vec![incident; MAX_INCIDENTS];
    let before = h.clone();
    let json = h.to_json();
    assert!(json.len() <= MAX_HISTORY_BYTES, "{}", json.len());
    assert_eq!(h, before, "nothing trimmed at {} bytes", json.len());
}
