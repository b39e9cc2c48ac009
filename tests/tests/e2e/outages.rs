//! Outages: the refresher stopped, and MariaDB gone and back. The reader keeps answering with
//! the last data, marks it for what it is, and is fresh again once the cause is gone.

use std::time::{Duration, Instant};

use integration_tests::binaries::{Child, Signal};
use integration_tests::fault::{FaultProxy, Mode};
use integration_tests::live::set_exp;

use integration_tests::wait::{SETTLE, wait_until};

use super::fixtures::{
    FIRST_DOCUMENT_WITHIN, Running, STOP_WITHIN, assert_fresh_primary, fresh_with_exp,
    last_good_after, refresher, running, seeded_db, status, still_running,
};

/// The refresher stops (SIGTERM): the endpoint keeps answering, after the TTL from the
/// last-known-good copy marked stale; a new refresher makes it fresh again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_refresher_serves_last_good_then_recovers() {
    const INTERVAL_S: u64 = 1;
    const TTL_S: u64 = 3;
    let db = seeded_db();
    let Running {
        redis,
        reader,
        mut child,
        first,
    } = running(&db.url(), INTERVAL_S, TTL_S).await;
    assert_fresh_primary(&first);

    child.signal(Signal::Term).expect("kill");
    let exit = child.wait(STOP_WITHIN);
    assert_eq!(exit.code(), Some(0), "{}", child.output());
    let stopped = Instant::now();
    let last = status(&reader).await;
    assert_eq!(last.cache.source, "primary");
    // The database changes while nobody refreshes: the reader cannot know yet.
    set_exp(&db, 9.5);

    // The fallback comes when Redis expires the key; the wait is generous, as every answer
    // on the way is checked (the same data, a consistent age).
    let (fallback, saw_overdue) = last_good_after(
        &reader,
        &last,
        Duration::from_secs(TTL_S) + SETTLE,
        "last_good after the TTL",
        "nobody refreshes now",
    )
    .await;
    eprintln!(
        "e2e: refresher stopped; last_good served {:?} after the stop (TTL {TTL_S} s)",
        stopped.elapsed()
    );
    assert!(saw_overdue, "the primary copy was never reported overdue");
    assert!(fallback.cache.stale, "{:?}", fallback.cache);
    assert!(!fallback.cache.fresh, "{:?}", fallback.cache);
    assert!(
        fallback.cache.age_seconds >= TTL_S - 1,
        "{:?}",
        fallback.cache
    );
    assert!(redis.get(&redis.status_key()).is_none(), "primary expired");
    assert!(redis.get(&redis.last_good_key()).is_some());

    let restarted_at = Instant::now();
    let mut again = Child::spawn(refresher(&db.url(), &redis, INTERVAL_S, TTL_S));
    let recovered =
        fresh_with_exp(&reader, 9.5, FIRST_DOCUMENT_WITHIN, "fresh after restart").await;
    eprintln!(
        "e2e: restarted refresher fresh again after {:?}",
        restarted_at.elapsed()
    );
    assert_fresh_primary(&recovered);
    assert!(recovered.doc.updated_at > last.doc.updated_at);
    still_running(&mut again);
}

// ---------------------------------------------------------------------------------------

/// MariaDB goes away (as the refresher sees it: connections reset, new ones refused) and
/// comes back: the endpoint answers with the last data throughout, and freshness returns
/// without restarting anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outage_keeps_last_data_and_heals_by_itself() {
    const INTERVAL_S: u64 = 1;
    const TTL_S: u64 = 4;
    let db = seeded_db();
    let proxy = FaultProxy::for_url(&db.url());
    // mysql_async, having connected over TCP to a loopback address, asks the server for its
    // Unix socket and moves to it (`prefer_socket`, on by default). A server that is down
    // takes its socket down too, but the proxy can only cut TCP: without this parameter the
    // refresher would reach MariaDB around the proxy and the outage would not be one.
    let url = format!("{}?prefer_socket=false", proxy.rewrite_url(&db.url()));
    let Running {
        redis: _redis,
        reader,
        mut child,
        first,
    } = running(&url, INTERVAL_S, TTL_S).await;
    assert_fresh_primary(&first);

    let failed_before = child.output().matches("refresh failed").count();
    proxy.set_mode(Mode::Refuse);
    let down = Instant::now();
    // A refresh that had its rows before the switch may still land: wait until one has
    // failed since (refreshes run one at a time), so the document is the last one for good.
    assert!(
        tokio::task::block_in_place(|| wait_until(SETTLE, || {
            child.output().matches("refresh failed").count() > failed_before
        })),
        "no refresh failed with MariaDB down:\n{}",
        child.output()
    );
    let last = status(&reader).await;
    set_exp(&db, 4.75);

    let (fallback, saw_overdue) = last_good_after(
        &reader,
        &last,
        Duration::from_secs(INTERVAL_S + TTL_S) + SETTLE,
        "last_good while MariaDB is down",
        "no refresh can succeed",
    )
    .await;
    eprintln!(
        "e2e: MariaDB down; last_good served {:?} into the outage",
        down.elapsed()
    );
    assert!(saw_overdue, "the primary copy was never reported overdue");
    assert!(
        fallback.cache.stale && !fallback.cache.fresh,
        "{:?}",
        fallback.cache
    );
    still_running(&mut child);
    let accepted_while_down = proxy.accepted();

    proxy.set_mode(Mode::Pass);
    let healed = Instant::now();
    // The next retry comes within the backoff, capped at the interval; no timing promise
    // beyond "by itself", so the wait is generous.
    let recovered = fresh_with_exp(&reader, 4.75, SETTLE, "fresh after MariaDB is back").await;
    eprintln!(
        "e2e: MariaDB back; fresh again after {:?}",
        healed.elapsed()
    );
    assert_fresh_primary(&recovered);
    assert!(recovered.doc.updated_at > last.doc.updated_at);
    assert!(
        proxy.accepted() > accepted_while_down,
        "the refresher reconnected through the proxy"
    );
    // The same process all along: nothing was restarted.
    still_running(&mut child);
}
