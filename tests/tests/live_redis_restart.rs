//! The refresh channel survives a Redis restart: a throwaway `redis-server`
//! is killed under a running refresher and started again on the same port.
//!
//! While it is down, `/health` says `"channel":"down"` with the error and `/metrics` says
//! `status_refresher_source_up{source="channel"} 0`; once it is back the refresher
//! resubscribes by itself (with backoff) and a `PUBLISH` shows a change within 1 s again.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use dev_support::servers::Throwaway;
use integration_tests::binaries::Child;
use integration_tests::live::{self, WITHIN, exp, past_the_gap, publish, set_exp, subscribed};
use integration_tests::probe::{health, metrics_addr, sample_when};
use integration_tests::redis::TestRedis;
use integration_tests::wait::{SETTLE, wait_until};

const CHANNEL_UP: &str = "status_refresher_source_up{source=\"channel\"}";

/// Asserts that the refresher's `/health` (at `addr`) says `"channel":"<state>"` within
/// `limit`, else fails with `what` and the refresher's output; how long it took.
fn channel_becomes(
    addr: SocketAddr,
    child: &Child,
    state: &str,
    limit: Duration,
    what: &str,
) -> Duration {
    let since = Instant::now();
    assert!(
        wait_until(limit, || health(addr).1["channel"] == state),
        "{what}:\n{}",
        child.output()
    );
    since.elapsed()
}

#[test]
fn nudges_work_again_after_a_redis_restart_and_the_outage_is_visible_meanwhile() {
    let mut server = Throwaway::redis_in_temp_dir()
        .start()
        .unwrap_or_else(|e| panic!("cannot start a throwaway redis-server: {e:#}"));
    let redis = TestRedis::on(&server.url());
    let db = live::seeded();
    let child = subscribed(live::daemon(&db.url(), &redis), &redis);
    let addr = metrics_addr(&child);
    // The refresher logs the subscription as it makes it; the gauge follows a moment later.
    assert_eq!(sample_when(addr, CHANNEL_UP, SETTLE, |v| v == 1.0), 1.0);

    server.kill();
    let lost = channel_becomes(
        addr,
        &child,
        "down",
        Duration::from_secs(20),
        "the lost subscription was not reported",
    );
    eprintln!("redis killed -> /health channel down: {lost:?}");
    let (_, body) = health(addr);
    assert!(
        body["channel_error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    assert_eq!(sample_when(addr, CHANNEL_UP, SETTLE, |v| v == 0.0), 0.0);
    // Down for a while: several failed attempts, so the backoff has grown.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(health(addr).1["channel"], "down");

    server
        .restart()
        .unwrap_or_else(|e| panic!("redis-server did not come back: {e:#}"));
    let back = channel_becomes(
        addr,
        &child,
        "up",
        Duration::from_secs(30),
        "never resubscribed",
    );
    eprintln!("redis back -> resubscribed: {back:?}");
    assert_eq!(sample_when(addr, CHANNEL_UP, SETTLE, |v| v == 1.0), 1.0);

    // The restarted Redis is empty; a nudge writes the document again, within 1 s.
    past_the_gap(addr);
    set_exp(&db, 2.0);
    let sent = Instant::now();
    assert_eq!(publish(&redis), 1, "the refresher is subscribed again");
    assert!(
        wait_until(SETTLE, || exp(&redis) == Some(2.0)),
        "{}",
        child.output()
    );
    let took = sent.elapsed();
    eprintln!("after the restart: PUBLISH -> new document {took:?}");
    assert!(took <= WITHIN, "{took:?}:\n{}", child.output());
}
