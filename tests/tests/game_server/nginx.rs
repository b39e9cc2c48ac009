//! Through the shipped nginx front cache: `offline` within the bound plus `max-age`.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use integration_tests::binaries::Child;
use integration_tests::game_server::probe_scene;
use integration_tests::reader::{ReaderConfig, ReaderServer, try_http_request};
use integration_tests::temp::TempDir;

use super::{FIRST_DOCUMENT_WITHIN, INTERVAL, SLACK, bound, reader_says, refresher};

/// The shipped front cache between the website and the reader: `offline` reaches the
/// website within the probe's bound plus the `max-age` the reader gave the cached copy,
/// because that `max-age` follows the next probe, not the next refresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_shipped_nginx_front_offline_arrives_within_the_bound_plus_max_age() {
    let _timed = integration_tests::load::timed().await;
    let Some(nginx) = dev_support::nginx::binary() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "nginx is missing; .ci/run installs it (apt-get install nginx-light)"
        );
        eprintln!(
            "game_server: SKIPPED the nginx front test: no nginx (apt-get install nginx-light)"
        );
        return;
    };
    let (db, redis, mut game) = probe_scene().await;
    let _refresher = Child::spawn(refresher(&db.url(), &redis, &game.addr.to_string()));
    let reader = ReaderServer::start(ReaderConfig::new(&redis.url(), &redis.status_key())).await;
    reader_says(&reader, "online", Instant::now(), FIRST_DOCUMENT_WITHIN).await;

    let dir = TempDir::new("nginx-front");
    let (front, listen) = shipped_front(&nginx, &dir, reader.addr());
    assert!(
        front_serves_online(listen).await,
        "the front never served online:\n{}",
        front.output()
    );

    game.stop();
    let (took, largest_max_age) = offline_through_the_front(listen).await;
    let allowed = bound() + Duration::from_secs(largest_max_age) + SLACK;
    eprintln!(
        "game_server: through nginx, stopped -> website sees offline in {took:?} (bound {:?} + \
         max-age {largest_max_age} s)",
        bound()
    );
    assert!(
        largest_max_age <= INTERVAL.as_secs(),
        "max-age {largest_max_age} s follows the refresh, not the probe"
    );
    assert!(took <= allowed, "{took:?} > {allowed:?}");
}

/// nginx with the shipped `deploy/nginx/server-status.conf` in front of `reader`, rendered
/// into `dir`, and the address it listens on.
fn shipped_front(nginx: &Path, dir: &TempDir, reader: SocketAddr) -> (Child, SocketAddr) {
    let listen = dev_support::net::free_addr().expect("a free port");
    let rendered = dev_support::nginx::render_cache(
        &dev_support::workspace::workspace_root().join("deploy/nginx/server-status.conf"),
        dir.path(),
        reader,
        listen,
    )
    .expect("render the shipped nginx config");
    let front = Child::spawn(
        rendered
            .command(nginx)
            .expect("nginx -t accepts the config"),
    );
    (front, listen)
}

/// What the website gets from the front at `listen`: the `_cache.state` and the
/// `max-age` of a 200, or `None`.
async fn website(listen: SocketAddr) -> Option<(Option<String>, Option<u64>)> {
    match try_http_request(
        listen,
        "GET",
        "/server/status",
        &[],
        Bytes::new(),
        Duration::from_secs(5),
    )
    .await
    {
        Ok(reply) if reply.status == 200 => {
            let body = reply.json();
            let max_age = reply
                .header("cache-control")
                .and_then(|c| c.split(", ").find_map(|d| d.strip_prefix("max-age=")))
                .and_then(|s| s.parse::<u64>().ok());
            Some((body["_cache"]["state"].as_str().map(str::to_owned), max_age))
        }
        _ => None,
    }
}

/// Whether the front serves `online` within FIRST_DOCUMENT_WITHIN.
async fn front_serves_online(listen: SocketAddr) -> bool {
    let started = Instant::now();
    loop {
        if let Some((Some(state), _)) = website(listen).await
            && state == "online"
        {
            return true;
        }
        if started.elapsed() > FIRST_DOCUMENT_WITHIN {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// From now (the game server just stopped) until the website sees `offline`: how long,
/// and the largest `max-age` it was given meanwhile.
async fn offline_through_the_front(listen: SocketAddr) -> (Duration, u64) {
    let stopped = Instant::now();
    let mut largest_max_age = 0;
    loop {
        if let Some((state, max_age)) = website(listen).await {
            largest_max_age = largest_max_age.max(max_age.unwrap_or(0));
            if state.as_deref() == Some("offline") {
                return (stopped.elapsed(), largest_max_age);
            }
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(60),
            "the website never saw offline through nginx"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
