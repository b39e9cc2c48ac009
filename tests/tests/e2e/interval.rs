//! A constant changed in MariaDB reaches `/server/status` within one refresh interval.

use std::time::{Duration, Instant};

use integration_tests::live::set_exp;
use integration_tests::unix_now;

use super::fixtures::{
    EXP_BEFORE, Running, SLACK, assert_fresh_primary, running, seeded_db, status, still_running,
    wait_for,
};

/// A constant changed in MariaDB is served within one refresh interval, and the reader's
/// `_cache.age_seconds` and `fresh` agree with the document's `updated_at` and the clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_constant_is_served_within_one_interval() {
    const INTERVAL_S: u64 = 2;
    const TTL_S: u64 = 30;
    let db = seeded_db();
    let Running {
        redis: _redis,
        reader,
        mut child,
        first,
    } = running(&db.url(), INTERVAL_S, TTL_S).await;
    assert_eq!(first.doc.rates.exp, EXP_BEFORE);
    assert_eq!(
        (first.doc.refresh_interval_s, first.doc.ttl_s),
        (INTERVAL_S, TTL_S)
    );
    assert!(first.doc.defaulted.is_empty(), "{:?}", first.doc.defaulted);
    assert_eq!(first.doc.meta["RateExp"], "Рейт опыта");
    assert_fresh_primary(&first);

    let changed_at = unix_now();
    let started = Instant::now();
    set_exp(&db, 7.25);
    let limit = Duration::from_secs(INTERVAL_S) + SLACK;
    let seen = wait_for(limit, "the new RateExp at /server/status", async || {
        let s = status(&reader).await;
        if s.doc.rates.exp == 7.25 {
            Ok(s)
        } else {
            Err(format!("{:?} {:?}", s.doc.rates, s.cache))
        }
    })
    .await;
    let delay = started.elapsed();
    eprintln!("e2e: changed constant served after {delay:?} (interval {INTERVAL_S} s)");
    assert!(delay <= limit, "{delay:?}");
    // Read after the change was committed (the refresher may stamp just before its SELECT).
    assert!(
        seen.doc.updated_at >= changed_at - 0.5,
        "updated_at {} is before the change at {changed_at}",
        seen.doc.updated_at
    );
    assert_fresh_primary(&seen);

    // Between refreshes the age grows with the clock and stays within the interval.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let later = status(&reader).await;
    assert_eq!(later.doc.rates.exp, 7.25);
    assert_fresh_primary(&later);
    // The refresher's interval reaches HTTP caches through the document alone.
    let cache_control = later.reply.header("cache-control").unwrap_or_default();
    assert!(
        cache_control.contains(&format!("stale-while-revalidate={INTERVAL_S}")),
        "{cache_control}"
    );
    still_running(&mut child);
}
