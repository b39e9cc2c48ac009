//! The refresh interval, overridden live through Redis.

use std::time::{Duration, Instant};

use integration_tests::binaries::Child;
use integration_tests::db::{TestDb, constant};
use integration_tests::redis::TestRedis;
use integration_tests::wait::{SETTLE, wait_until};
use status_document::StatusDocument;

use super::{command, document};

/// The distinct `updated_at` values seen while polling the document until there are
/// `want` of them, or for `window`, whichever comes first.
fn observe_updates_until(redis: &TestRedis, want: usize, window: Duration) -> Vec<f64> {
    let mut seen: Vec<f64> = Vec::new();
    let deadline = Instant::now() + window;
    while Instant::now() < deadline && seen.len() < want {
        if let Some(raw) = redis.get(&redis.status_key())
            && let Ok(d) = serde_json::from_slice::<StatusDocument>(&raw)
            && seen.last() != Some(&d.updated_at)
        {
            seen.push(d.updated_at);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    seen
}

/// The distinct `updated_at` values seen while polling the document for the whole `window`.
fn observe_updates(redis: &TestRedis, window: Duration) -> Vec<f64> {
    observe_updates_until(redis, usize::MAX, window)
}

#[test]
fn live_interval_override_is_honoured() {
    let db = TestDb::with_constants("DOUBLE", &[constant("RateExp", 1.0, None)]);
    let redis = TestRedis::new();
    // Out of range (10..=86400): ignored with a warning, the configured 1 s stays.
    redis.set(&redis.interval_key(), "5");
    let mut cmd = command(&db, &redis);
    cmd.env("STATUS_UPDATE_INTERVAL", "1");
    let child = Child::spawn(cmd);
    // Three refreshes, then their spacing by the refresher's own clock: 1 s (plus each
    // refresh's own time), not the ignored 5 s. Counting refreshes in a fixed window would
    // count a busy machine's slow start-up too.
    let fast = observe_updates_until(&redis, 3, SETTLE);
    assert!(
        fast.len() >= 3,
        "1 s cadence expected, saw {fast:?}\n{}",
        child.output()
    );
    for pair in fast.windows(2) {
        assert!(
            pair[1] - pair[0] < 4.0,
            "1 s cadence expected, not the ignored 5 s: {fast:?}\n{}",
            child.output()
        );
    }
    child.expect_output("interval override ignored", Duration::ZERO);
    assert_eq!(document(&redis).refresh_interval_s, 1);

    // In range: the next cycle (within ~1 s) adopts 10 s, then the document stays put.
    redis.set(&redis.interval_key(), "10");
    child.expect_output("refresh interval changed", SETTLE);
    // The change is logged when the cycle reads it; the document carrying it follows.
    assert!(
        wait_until(SETTLE, || document(&redis).refresh_interval_s == 10),
        "the document carries the live interval:\n{}",
        child.output()
    );
    let d = document(&redis);
    let slow = observe_updates(&redis, Duration::from_millis(3000));
    assert_eq!(
        slow,
        [d.updated_at],
        "no refresh within 3 s of a 10 s interval"
    );
}
