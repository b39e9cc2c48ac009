//! A Redis restart with both halves running: the reader answers a quick 503 while Redis is
//! down and while it is back but empty, and both halves recover by themselves, in order.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use integration_tests::binaries::{Child, Signal};
use integration_tests::db::{TestDb, constant};
use integration_tests::redis::RedisServer;
use integration_tests::unix_now;
use integration_tests::wait::SETTLE;

use super::{REQUEST_LIMIT, daemon_command, spawn_reader, try_get, unique_key, wait_for_fresh};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_with_both_halves_running() {
    let db = TestDb::with_constants(
        "DOUBLE",
        &[
            constant("RateExp", 2.0, None),
            constant("ServerStatus", 1.0, None),
        ],
    );
    let redis = tokio::task::block_in_place(RedisServer::start);
    let key = unique_key();
    // The default lease (30 s): after the restart the lock is gone with everything else.
    let refresher = Child::spawn(daemon_command(&db.url(), &redis.url(), &key, "30"));
    let (reader, addr) =
        tokio::task::block_in_place(|| spawn_reader(&redis.url(), &key, &[], &[], &[]));
    wait_for_fresh(addr, 0.0, SETTLE)
        .await
        .unwrap_or_else(|last| panic!("never served: {last}\n{}", refresher.output()));

    let redis = cycle_with_the_refresher_held(redis, addr, &refresher).await;
    let (_redis, seen) = cycle_with_nothing_held(redis, addr, &refresher).await;

    // Both recovered without a restart: the same refresher process is still running.
    let mut refresher = refresher;
    assert!(
        refresher.wait_timeout(Duration::ZERO).is_none(),
        "the refresher exited:\n{}",
        refresher.output()
    );
    eprintln!("restart cycle 2 phases: {seen:?}");
    drop(reader);
}

/// Cycle 1, refresher held across the restart so the empty phase is observed for sure.
/// Refused connections are answered at once: well inside reader-host's 1 s Redis
/// timeout, which is what a 503 that waited for it would take. (The bound is that
/// timeout rather than a tighter guess: the request's own round trip through a fresh
/// instance can take hundreds of milliseconds on a busy machine.)
/// Returns the restarted server.
async fn cycle_with_the_refresher_held(
    mut redis: RedisServer,
    addr: SocketAddr,
    refresher: &Child,
) -> RedisServer {
    redis.kill();
    for _ in 0..3 {
        let started = Instant::now();
        let reply = try_get(addr, "/server/status", REQUEST_LIMIT)
            .await
            .unwrap();
        let took = started.elapsed();
        assert_eq!(reply.status, 503, "{:?}", reply.body);
        assert_eq!(reply.json()["error"], "redis_unavailable");
        assert_eq!(reply.header("retry-after"), Some("5"));
        assert!(took < Duration::from_secs(1), "{took:?}");
    }
    refresher.signal(Signal::Stop).expect("kill");
    let restarted_at = unix_now();
    tokio::task::block_in_place(|| redis.restart());
    let reply = try_get(addr, "/server/status", REQUEST_LIMIT)
        .await
        .unwrap();
    refresher.signal(Signal::Cont).expect("kill");
    assert_eq!(reply.status, 503, "{:?}", reply.body);
    assert_eq!(
        reply.json()["error"],
        "status_unavailable",
        "Redis restarted empty"
    );
    assert_eq!(reply.header("retry-after"), Some("30"));
    wait_for_fresh(addr, restarted_at, SETTLE)
        .await
        .unwrap_or_else(|last| {
            panic!(
                "no recovery after the restart: {last}\n{}",
                refresher.output()
            )
        });
    redis
}

/// Cycle 2, nothing held: the answers only move forward, down -> empty -> fresh.
/// The restart happens in the background 1.5 s after the kill while the reader is polled.
/// Returns the restarted server and the phases seen, in order.
async fn cycle_with_nothing_held(
    mut redis: RedisServer,
    addr: SocketAddr,
    refresher: &Child,
) -> (RedisServer, Vec<String>) {
    redis.kill();
    let down_at = unix_now();
    let restart = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_millis(1500));
        redis.restart();
        redis
    });
    let seen = phases_until_fresh(addr, down_at, refresher).await;
    let redis = restart.await.expect("restart failed");
    assert_eq!(seen.first().map(String::as_str), Some("redis_unavailable"));
    let order = ["redis_unavailable", "status_unavailable", "fresh"];
    let ranks: Vec<usize> = seen
        .iter()
        .map(|p| order.iter().position(|o| o == p).unwrap())
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] < w[1]), "went back: {seen:?}");
    (redis, seen)
}

/// What the reader answers, each change of answer once, until it serves a document
/// written after `down_at` (within SETTLE).
async fn phases_until_fresh(addr: SocketAddr, down_at: f64, refresher: &Child) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let deadline = Instant::now() + SETTLE;
    loop {
        assert!(
            Instant::now() < deadline,
            "no recovery: {seen:?}\n{}",
            refresher.output()
        );
        let reply = try_get(addr, "/server/status", REQUEST_LIMIT)
            .await
            .unwrap();
        let phase = match reply.status {
            200 => {
                let v = reply.json();
                assert!(v["updated_at"].as_f64().unwrap() >= down_at, "{v}");
                "fresh".to_owned()
            }
            503 => reply.json()["error"].as_str().unwrap().to_owned(),
            other => panic!("unexpected {other}: {:?}", reply.body),
        };
        if seen.last() != Some(&phase) {
            seen.push(phase.clone());
        }
        if phase == "fresh" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    seen
}
