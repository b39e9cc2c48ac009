//! The reader following the game server: ten flips, each within the bound, and a takeover
//! after a kill -9 of the lease holder without a flap.

use std::time::{Duration, Instant};

use integration_tests::binaries::Child;
use integration_tests::game_server::probe_scene;
use integration_tests::reader::{ReaderConfig, ReaderServer};

use super::{
    FAILURES, FIRST_DOCUMENT_WITHIN, FLIPS, GAP, INTERVAL, SLACK, bound, document, median_and_max,
    reader_says, refresher, simple,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reader_follows_the_game_server_over_ten_flips() {
    let _timed = integration_tests::load::timed().await;
    let (db, redis, mut game) = probe_scene().await;
    let child = Child::spawn(refresher(&db.url(), &redis, &game.addr.to_string()));
    let reader = ReaderServer::start(ReaderConfig::new(&redis.url(), &redis.status_key())).await;
    let first = Instant::now();
    reader_says(&reader, "online", first, FIRST_DOCUMENT_WITHIN).await;

    let mut down = Vec::new();
    let mut up = Vec::new();
    for flip in 0..FLIPS {
        game.stop();
        let stopped = Instant::now();
        let took = reader_says(&reader, "offline", stopped, bound() + SLACK).await;
        down.push(took);
        let body = reader.get("/server/status").await.json();
        assert_eq!(body["_cache"]["state"], "offline", "{body:#}");
        assert_eq!(body["state_reason"], "unreachable", "{body:#}");
        assert_eq!(body["game_server"]["reachable"], false, "{body:#}");

        game.restart();
        let started = Instant::now();
        let took = reader_says(&reader, "online", started, INTERVAL + GAP + SLACK).await;
        up.push(took);
        let body = reader.get("/server/status").await.json();
        assert!(body.get("state_reason").is_none(), "flip {flip}: {body:#}");
        assert_eq!(body["game_server"]["reachable"], true, "{body:#}");
    }
    let (down_median, down_max) = median_and_max(down);
    let (up_median, up_max) = median_and_max(up);
    eprintln!(
        "game_server: stopped -> reader says offline over {FLIPS} flips: median {down_median:?}, \
         max {down_max:?} (bound {:?}); restarted -> online: median {up_median:?}, max {up_max:?} \
         (bound {:?}); probe every {INTERVAL:?}, down after {FAILURES} failures",
        bound(),
        INTERVAL + GAP
    );

    // The public never learns where the game server is: not in the stored document, not
    // in any of the reader's answers.
    let stored =
        String::from_utf8(redis.get(&redis.status_key()).expect("a document")).expect("UTF-8");
    let port = game.addr.port().to_string();
    for path in [
        "/server/status",
        "/server/status/debug",
        "/health",
        "/server/status/simple",
        "/server/status/badge.svg",
        "/server/status/shields.json",
    ] {
        let reply = reader.get(path).await;
        let body = String::from_utf8_lossy(&reply.body);
        for text in [&stored as &str, &body] {
            assert!(
                !text.contains("127.0.0.1") && !text.contains(&format!(":{port}")),
                "{path} shows the game server's address: {text}"
            );
        }
    }
    drop(child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_kill_9_the_new_holder_carries_on_without_a_flap() {
    let _timed = integration_tests::load::timed().await;
    let (db, redis, mut game) = probe_scene().await;
    // A deadline (5 s) well past a takeover (a 2-second lease).
    let replica = || {
        let mut cmd = refresher(&db.url(), &redis, &game.addr.to_string());
        cmd.env("STATUS_LEASE", "2")
            .env("STATUS_PROBE_FAILURES", "4");
        cmd
    };
    let mut holder = Child::spawn(replica());
    let reader = ReaderServer::start(ReaderConfig::new(&redis.url(), &redis.status_key())).await;
    reader_says(&reader, "online", Instant::now(), FIRST_DOCUMENT_WITHIN).await;
    let standby = Child::spawn(replica());
    standby.expect_output("standby", Duration::from_secs(15));

    // The game server goes down and the holder publishes it.
    game.stop();
    reader_says(&reader, "offline", Instant::now(), INTERVAL * 5 + SLACK).await;
    let since = document(&redis)
        .and_then(|d| d.game_server)
        .expect("game_server")
        .since;

    holder.kill();
    let killed = Instant::now();
    let mut samples = Vec::new();
    // Until the new holder has written its own probe's word (checked_at after the kill).
    let killed_unix = integration_tests::unix_now();
    loop {
        samples.push(simple(&reader).await);
        let taken_over = document(&redis)
            .and_then(|d| d.game_server)
            .is_some_and(|g| g.checked_at > killed_unix);
        if taken_over {
            break;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(30),
            "no takeover:\n{}",
            standby.output()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    samples.push(simple(&reader).await);
    eprintln!(
        "game_server: takeover after kill -9 in {:?}, {} reader samples",
        killed.elapsed(),
        samples.len()
    );
    assert!(
        samples.iter().all(|s| s == "offline"),
        "the state flapped during the takeover: {samples:?}\n{}",
        standby.output()
    );
    let carried = document(&redis)
        .and_then(|d| d.game_server)
        .expect("game_server");
    assert!(!carried.reachable);
    assert_eq!(carried.since, since, "the outage's start was carried on");

    // And the new holder follows the server from there.
    game.restart();
    reader_says(&reader, "online", Instant::now(), INTERVAL + GAP + SLACK).await;
}
