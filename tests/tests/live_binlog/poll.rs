//! `STATUS_WATCH=poll:1` against the same throwaway MariaDB: a change within its period,
//! and no full `SELECT` while nothing changes.

use std::time::{Duration, Instant};

use super::*;

#[test]
fn poll_sees_a_change_within_its_period_and_selects_nothing_while_idle() {
    let _timed = integration_tests::load::timed_blocking();
    let f = Fixture::new(&[]);
    let redis = TestRedis::new();
    let every = Duration::from_secs(1);
    let child = watching(
        &f,
        &redis,
        &[("STATUS_WATCH", "poll:1")],
        "probing `constants` for changes",
    );
    // Idle: probes, and not one full SELECT.
    let (selects, probes) = (f.selects(), f.sent("Query", PROBE));
    std::thread::sleep(Duration::from_secs(4));
    let (idle_selects, idle_probes) = (f.selects() - selects, f.sent("Query", PROBE) - probes);
    eprintln!("poll:1 idle for 4 s: {idle_probes} probes, {idle_selects} full SELECTs");
    assert_eq!(idle_selects, 0, "{}", child.output());
    assert!(idle_probes >= 2, "{idle_probes} probes in 4 s");

    // A change: seen by the next probe, so within one period plus the refresh.
    set_exp(&f.db, 9.0);
    let changed = Instant::now();
    assert!(
        wait_until(PATIENCE, || live::exp(&redis) == Some(9.0)),
        "{}",
        child.output()
    );
    let took = changed.elapsed();
    eprintln!("poll:1: UPDATE commit -> new document {took:?}");
    assert!(took <= every + WITHIN, "{took:?}");
    assert_eq!(f.selects() - selects, 1, "one SELECT for the change");
    let (_, body) = health_when(metrics_addr(&child), PATIENCE, |_, body| {
        body["watch_state"] == "up"
    });
    assert_eq!(
        (&body["watch"], &body["watch_state"]),
        (&"poll".into(), &"up".into())
    );
}
