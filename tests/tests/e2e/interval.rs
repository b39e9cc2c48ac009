//! A constant changed in MariaDB reaches `/server/status` within one refresh interval.

use std::time::{Duration, Instant};

use integration_tests::db::TestDb;
use integration_tests::live::set_exp;
use integration_tests::reader::ReaderServer;
use integration_tests::unix_now;

use super::fixtures::{
    EXP_BEFORE, FIRST_DOCUMENT_WITHIN, Running, SLACK, assert_age_consistent, assert_fresh_primary,
    running, seeded_db, status, still_running, wait_for,
};

const INTERVAL_S: u64 = 2;
const TTL_S: u64 = 30;

/// A constant changed in MariaDB is served within one refresh interval, and the reader's
/// `_cache.age_seconds` and `fresh` agree with the document's `updated_at` and the clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_constant_is_served_within_one_interval() {
    let _timed = integration_tests::load::timed().await;
    let db = seeded_db();
    let Running {
        redis: _redis,
        reader,
        mut child,
        first,
    } = running(&db.url(), INTERVAL_S, TTL_S).await;
    assert_eq!(first.doc.rates.unwrap().exp, EXP_BEFORE);
    assert_eq!(
        (first.doc.refresh_interval_s, first.doc.ttl_s),
        (INTERVAL_S, TTL_S)
    );
    assert!(first.doc.defaulted.is_empty(), "{:?}", first.doc.defaulted);
    assert_eq!(first.doc.meta["RateExp"], "Рейт опыта");
    assert_fresh_primary(&first);

    a_change_is_read_within_one_interval(&db, &reader).await;
    the_age_grows_between_refreshes(&reader).await;
    still_running(&mut child);
}

/// `RateExp` changed in MariaDB: the refresh that reads it runs within one interval of
/// the commit, by the refresher's clock, and the reader serves it from the primary.
async fn a_change_is_read_within_one_interval(db: &TestDb, reader: &ReaderServer) {
    let changed_at = unix_now();
    let started = Instant::now();
    set_exp(db, 7.25);
    let limit = Duration::from_secs(INTERVAL_S) + SLACK;
    // Waits generously; the promise is checked below on the refresher's own clock.
    let seen = wait_for(
        FIRST_DOCUMENT_WITHIN,
        "the new RateExp at /server/status",
        async || {
            let s = status(reader).await;
            if s.doc.rates.unwrap().exp == 7.25 {
                Ok(s)
            } else {
                Err(format!("{:?} {:?}", s.doc.rates, s.cache))
            }
        },
    )
    .await;
    let delay = started.elapsed();
    // The refresh that read the change, by the refresher's clock (`updated_at` is stamped
    // when the rows are back): within one interval of the commit, plus slack. Timed this way
    // the test's own polling through the reader does not count on a busy machine.
    let read_after = seen.doc.updated_at - changed_at;
    eprintln!(
        "e2e: changed constant read {read_after:.3} s after the commit, served after {delay:?} \
         (interval {INTERVAL_S} s)"
    );
    assert!(
        read_after <= limit.as_secs_f64(),
        "read {read_after:.3} s after the commit, over {limit:?}"
    );
    // Read after the change was committed (the refresher may stamp just before its SELECT).
    assert!(
        seen.doc.updated_at >= changed_at - 0.5,
        "updated_at {} is before the change at {changed_at}",
        seen.doc.updated_at
    );
    assert_eq!(seen.cache.source, "primary", "{:?}", seen.cache);
    assert_age_consistent(&seen);
}

/// Between refreshes the age grows with the clock: an answer a second or more old is
/// judged fresh exactly while it is within the interval (assert_age_consistent).
async fn the_age_grows_between_refreshes(reader: &ReaderServer) {
    let later = wait_for(
        FIRST_DOCUMENT_WITHIN,
        "an answer a second old",
        async || {
            let s = status(reader).await;
            if s.cache.age_seconds >= 1 {
                Ok(s)
            } else {
                Err(format!("{:?}", s.cache))
            }
        },
    )
    .await;
    assert_eq!(later.doc.rates.unwrap().exp, 7.25);
    assert_eq!(later.cache.source, "primary", "{:?}", later.cache);
    assert_age_consistent(&later);
    // The refresher's interval reaches HTTP caches through the document alone.
    let cache_control = later.reply.header("cache-control").unwrap_or_default();
    assert!(
        cache_control.contains(&format!("stale-while-revalidate={INTERVAL_S}")),
        "{cache_control}"
    );
}
