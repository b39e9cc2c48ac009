//! Through the shipped nginx front cache: `offline` within the bound plus `max-age`.

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
    let listen = dev_support::net::free_addr().expect("a free port");
    let rendered = dev_support::nginx::render_cache(
        &dev_support::workspace::workspace_root().join("deploy/nginx/server-status.conf"),
        dir.path(),
        reader.addr(),
        listen,
    )
    .expect("render the shipped nginx config");
    let front = Child::spawn(
        rendered
            .command(&nginx)
            .expect("nginx -t accepts the config"),
    );
    let website = || async {
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
    };
    assert!(
        {
            let started = Instant::now();
            loop {
                if let Some((Some(state), _)) = website().await
                    && state == "online"
                {
                    break true;
                }
                if started.elapsed() > FIRST_DOCUMENT_WITHIN {
                    break false;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        },
        "the front never served online:\n{}",
        front.output()
    );

    game.stop();
    let stopped = Instant::now();
    let mut largest_max_age = 0;
    let took = loop {
        if let Some((state, max_age)) = website().await {
            largest_max_age = largest_max_age.max(max_age.unwrap_or(0));
            if state.as_deref() == Some("offline") {
                break stopped.elapsed();
            }
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(60),
            "the website never saw offline through nginx"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
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
