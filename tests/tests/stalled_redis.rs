//! A stalled Redis, and what Spin does about it on each path (docs/reliability.md,
//! docs/deploy.md). A fault proxy in front of the real Redis either holds a connection's
//! bytes ([`Mode::Stall`]: a server that hangs, then answers everything it was sent) or
//! loses them ([`Mode::Blackhole`]: a black-holed TCP path or a failed-over address, where
//! the connections that were on it never hear back). `reader-host` runs the component as
//! Spin 4.1 does: a WASIp3 instance serves many requests, and the key-value store is one
//! Redis connection per app with no response timeout. So these tests state Spin's
//! behaviour, measured under a real Spin 4.1, not the one we would like:
//!
//! * **outbound, WASIp3** (deploy/spin/spin4.toml): every Redis call races
//!   `redis_timeout_ms`, so a stall or a black hole is a 503 `redis_unavailable` with
//!   `Retry-After` within that bound plus 250 ms, and 200s come back within seconds of its
//!   end without a restart. Sequential requests share the instance's one connection;
//! * **key-value, both builds**: a stall whose bytes come back heals (every reply arrives);
//!   a black hole does not: the shared connection's lost reply is never an I/O error, every
//!   later command waits behind it, and the app is wedged until the process restarts — the
//!   WASIp3 build answers 503 within its bound, the WASIp2 build hangs (its host call has no
//!   bound of its own). The restart is the operator's (deploy/systemd/ has the watchdog).
//!
//! 10,000 requests against a stalled Redis keep `reader-host`'s memory and sockets bounded.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use integration_tests::binaries::Child;
use integration_tests::fault::{FaultProxy, Mode};
use integration_tests::reader::{
    Build, ReaderConfig, ReaderServer, Reply, listening_addr, reader_host_command_for,
    try_http_request,
};
use integration_tests::redis::TestRedis;
use integration_tests::temp::TempDir;
use integration_tests::wait::SETTLE;
use integration_tests::{document, unix_now};

/// The component's bound in these tests (`redis_timeout_ms`).
const TIMEOUT_MS: u64 = 300;
/// The bound in the 10,000-request run: shorter, so the run costs half a minute per
/// backend rather than a minute and a half (what it measures is what is left behind).
const FLOOD_TIMEOUT_MS: u64 = 100;
/// The allowance over the bound for everything else a request does.
const SLACK: Duration = Duration::from_millis(250);
/// The host's own outbound Redis timeout: far beyond the component's, never what answers.
const HOST_REDIS_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the black hole lasts (the stall measured under Spin lasted 3 s).
const BLACKHOLE_FOR: Duration = Duration::from_secs(3);
/// How soon after the black hole the outbound reader must serve 200 again.
const RECOVERY: Duration = Duration::from_secs(10);
/// How long a wedged request is given before the test calls it hung: ten times the
/// component's bound, a third of the host's own Redis timeout.
const HANG: Duration = Duration::from_secs(3);
/// How long the key-value reader is watched staying wedged after Redis is reachable again
/// (Spin stayed wedged for the 180 s it was watched; this is far beyond any reconnect).
const WEDGED_FOR: Duration = Duration::from_secs(5);

/// The two ways the reader reads Redis.
#[derive(Debug, Clone, Copy)]
enum Backend {
    Outbound,
    KeyValue,
}

fn config(backend: Backend, build: Build, redis: &TestRedis, proxy: &FaultProxy) -> ReaderConfig {
    let url = proxy.rewrite_url(&redis.url());
    let mut config = ReaderConfig::new(&url, &redis.status_key())
        .build(build)
        .redis_timeout(HOST_REDIS_TIMEOUT);
    if let Build::Wasip3 = build {
        config = config.variable("redis_timeout_ms", &TIMEOUT_MS.to_string());
    }
    match backend {
        Backend::Outbound => config,
        Backend::KeyValue => config.key_value(&url),
    }
}

/// A seeded Redis, a proxy in front of it, and a reader behind that, serving 200.
async fn reader_behind_a_proxy(
    backend: Backend,
    build: Build,
) -> (TestRedis, FaultProxy, ReaderServer) {
    let redis = TestRedis::new();
    redis.set(&redis.status_key(), document::at(unix_now()));
    let proxy = FaultProxy::for_url(&redis.url());
    let reader = ReaderServer::start(config(backend, build, &redis, &proxy)).await;
    let reply = wait_for_200(reader.addr(), "/server/status").await;
    assert_eq!(reply.status, 200, "{backend:?} {build:?}: before the fault");
    (redis, proxy, reader)
}

/// One GET, timed; a transport failure fails the test.
async fn timed_get(addr: SocketAddr, path: &str) -> (Reply, Duration) {
    let started = Instant::now();
    let reply = try_http_request(addr, "GET", path, &[], Bytes::new(), SETTLE)
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    (reply, started.elapsed())
}

/// The clean answer to an unreachable Redis, in time.
fn assert_redis_unavailable(backend: Backend, path: &str, reply: &Reply, took: Duration) {
    let bound = Duration::from_millis(TIMEOUT_MS) + SLACK;
    let body = String::from_utf8_lossy(&reply.body);
    assert_eq!(reply.status, 503, "{backend:?} GET {path}: {body}");
    let json = reply.json();
    assert_eq!(
        json["error"], "redis_unavailable",
        "{backend:?} GET {path}: {body}"
    );
    if path == "/server/status" {
        assert!(
            reply.header("retry-after").is_some(),
            "{backend:?} GET {path}: no Retry-After"
        );
    }
    // A hang is the host's own 30 s timeout; a busy machine can add a second or so to one
    // request, never that. The bound itself is held by the median (see `assert_in_time`).
    assert!(
        took <= bound + HICCUP,
        "{backend:?} GET {path} took {took:?} against a stalled Redis; the bound is {bound:?}"
    );
}

/// What a busy CI machine may add to a single request (a scheduling hiccup), far below the
/// host's own Redis timeout, which is what a request without the component's bound waits.
const HICCUP: Duration = Duration::from_secs(3);

/// The answers to a stalled Redis come within `redis_timeout_ms` + the 250 ms: the
/// median of every timed request, so one request that a loaded machine delayed does not
/// make a correct build red, while a build that waits for the host (30 s) fails every time.
fn assert_in_time(backend: Backend, took: &mut [Duration]) {
    let bound = Duration::from_millis(TIMEOUT_MS) + SLACK;
    took.sort();
    let median = took[took.len() / 2];
    println!(
        "{backend:?}: {} requests against a stalled Redis, median {median:?}, slowest {:?}",
        took.len(),
        took[took.len() - 1]
    );
    assert!(
        median <= bound,
        "{backend:?}: the median answer to a stalled Redis took {median:?}; the bound is \
         {bound:?} (all: {took:?})"
    );
}

/// Waits until `path` answers 200 (Redis reachable again), up to `limit`.
async fn wait_for_200_within(addr: SocketAddr, path: &str, limit: Duration) -> Reply {
    let deadline = Instant::now() + limit;
    loop {
        let (reply, _) = timed_get(addr, path).await;
        if reply.status == 200 || Instant::now() > deadline {
            return reply;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `path` answers 200 (Redis reachable again), up to [`SETTLE`].
async fn wait_for_200(addr: SocketAddr, path: &str) -> Reply {
    wait_for_200_within(addr, path, SETTLE).await
}

/// GETs `/server/status` and `/health` in turn until `period` is over, each the clean 503
/// in time; returns how long each took.
async fn unavailable_for(backend: Backend, addr: SocketAddr, period: Duration) -> Vec<Duration> {
    let until = Instant::now() + period;
    let mut took = Vec::new();
    while Instant::now() < until || took.len() < 2 {
        for path in ["/server/status", "/health"] {
            let (reply, t) = timed_get(addr, path).await;
            assert_redis_unavailable(backend, path, &reply, t);
            took.push(t);
        }
    }
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_redis_is_answered_503_within_the_timeout_on_both_backends() {
    let _timed = integration_tests::load::timed().await;
    for backend in [Backend::Outbound, Backend::KeyValue] {
        let (_redis, proxy, reader) = reader_behind_a_proxy(backend, Build::Wasip3).await;
        let addr = reader.addr();
        assert_eq!(wait_for_200(addr, "/health").await.status, 200);

        proxy.set_mode(Mode::Stall);
        let mut took = Vec::new();
        for _ in 0..10 {
            for path in ["/server/status", "/health"] {
                let (reply, t) = timed_get(addr, path).await;
                assert_redis_unavailable(backend, path, &reply, t);
                took.push(t);
            }
        }
        assert_in_time(backend, &mut took);

        // The stall ends and every held byte arrives: the same host answers again, no
        // restart — the key-value store's shared connection too, since no reply was lost.
        proxy.set_mode(Mode::Pass);
        let reply = wait_for_200(addr, "/server/status").await;
        assert_eq!(reply.status, 200, "{backend:?}: after the stall");
        assert_eq!(reply.json()["_cache"]["source"], "primary");
        assert_eq!(wait_for_200(addr, "/health").await.status, 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasip3_outbound_recovers_from_a_black_hole_without_a_restart() {
    let _timed = integration_tests::load::timed().await;
    let backend = Backend::Outbound;
    let (_redis, proxy, reader) = reader_behind_a_proxy(backend, Build::Wasip3).await;
    let addr = reader.addr();

    proxy.set_mode(Mode::Blackhole);
    let mut took = unavailable_for(backend, addr, BLACKHOLE_FOR).await;
    assert_in_time(backend, &mut took);

    // The connections that met the black hole are dead for good; the reader drops one
    // after its timeout and opens another, so 200s come back without a restart.
    proxy.set_mode(Mode::Pass);
    let back = Instant::now();
    let reply = wait_for_200_within(addr, "/server/status", RECOVERY).await;
    assert_eq!(
        reply.status,
        200,
        "no 200 within {RECOVERY:?} of the black hole's end: {}",
        String::from_utf8_lossy(&reply.body)
    );
    println!(
        "outbound: 200 again {:?} after the black hole",
        back.elapsed()
    );
    assert_eq!(wait_for_200(addr, "/health").await.status, 200);
}

/// Spin's key-value store after a black hole: Redis is reachable again (a new connection
/// through the same proxy answers `PING`), and the app stays wedged on its one connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_value_store_stays_wedged_after_a_black_hole_as_under_spin() {
    let _timed = integration_tests::load::timed().await;
    let backend = Backend::KeyValue;
    for build in [Build::Wasip3, Build::Wasip2] {
        let (redis, proxy, reader) = reader_behind_a_proxy(backend, build).await;
        let addr = reader.addr();

        proxy.set_mode(Mode::Blackhole);
        match build {
            Build::Wasip3 => drop(unavailable_for(backend, addr, BLACKHOLE_FOR).await),
            Build::Wasip2 => assert_hangs(addr, build).await,
        }
        proxy.set_mode(Mode::Pass);
        ping_through(&proxy.rewrite_url(&redis.url())).await;

        match build {
            Build::Wasip3 => {
                let mut took = unavailable_for(backend, addr, WEDGED_FOR).await;
                assert_in_time(backend, &mut took);
            }
            Build::Wasip2 => assert_hangs(addr, build).await,
        }
        println!("{build:?} key-value: still wedged with Redis reachable again");
    }
}

/// A request that gets no answer within [`HANG`]: the WASIp2 build's key-value call waits
/// behind the lost reply, with nothing to bound it but the host's request timeout.
async fn assert_hangs(addr: SocketAddr, build: Build) {
    let outcome = try_http_request(addr, "GET", "/server/status", &[], Bytes::new(), HANG).await;
    if let Ok(reply) = outcome {
        panic!(
            "{build:?} key-value answered {} within {HANG:?} on a wedged connection: {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        );
    }
}

/// A fresh connection through the proxy answers `PING`: Redis is reachable again.
async fn ping_through(url: &str) {
    let url = url.to_owned();
    let pong = tokio::task::spawn_blocking(move || -> Result<String, String> {
        let client = ::redis::Client::open(url.as_str()).map_err(|e| e.to_string())?;
        let mut c = client
            .get_connection_with_timeout(SETTLE)
            .map_err(|e| e.to_string())?;
        c.set_read_timeout(Some(SETTLE))
            .map_err(|e| e.to_string())?;
        ::redis::cmd("PING")
            .query(&mut c)
            .map_err(|e| e.to_string())
    })
    .await
    .expect("the PING task failed");
    assert_eq!(pong.as_deref(), Ok("PONG"), "Redis is not reachable again");
}

/// Spin 4 keeps a WASIp3 instance for up to 128 requests and the reader keeps its outbound
/// connection in the instance: sequential requests cost one connection, counted where the
/// proxy accepts them. (This holds once the reader's WASIp3 build keeps its connection per
/// instance; a build that connects per request fails it, one connection per request.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_wasip3_requests_share_one_outbound_connection() {
    const REQUESTS: u64 = 20;
    let _timed = integration_tests::load::timed().await;
    let redis = TestRedis::new();
    redis.set(&redis.status_key(), document::at(unix_now()));
    let proxy = FaultProxy::for_url(&redis.url());
    // An idle instance is kept far longer than a busy machine may pause between requests.
    let (child, addr) = spawn_host(
        Backend::Outbound,
        &redis,
        &proxy,
        TIMEOUT_MS,
        &["--idle-instance-timeout-ms", "60000"],
    );
    for i in 0..REQUESTS {
        let (reply, _) = timed_get(addr, "/server/status").await;
        assert_eq!(reply.status, 200, "request {i}: {}", child.output());
    }
    assert_eq!(
        proxy.accepted(),
        1,
        "{REQUESTS} sequential requests to one instance opened {} Redis connections",
        proxy.accepted()
    );
}

/// A `reader-host` process for the WASIp3 build behind `proxy`, with the component's bound
/// `timeout_ms` and `extra` flags; returns it and its address once it listens.
fn spawn_host(
    backend: Backend,
    redis: &TestRedis,
    proxy: &FaultProxy,
    timeout_ms: u64,
    extra: &[&str],
) -> (Child, SocketAddr) {
    let url = proxy.rewrite_url(&redis.url());
    let mut cmd = reader_host_command_for(Build::Wasip3);
    cmd.args(["--variable", &format!("redis_address={url}")])
        .args(["--variable", &format!("status_key={}", redis.status_key())])
        .args(["--variable", &format!("redis_timeout_ms={timeout_ms}")])
        .args([
            "--redis-timeout-ms",
            &HOST_REDIS_TIMEOUT.as_millis().to_string(),
        ])
        .args(extra);
    let dir = TempDir::new("stalled-redis");
    if let Backend::KeyValue = backend {
        let runtime_config = dir.path().join("runtime-config.toml");
        std::fs::write(
            &runtime_config,
            format!("[key_value_store.default]\ntype = \"redis\"\nurl = \"{url}\"\n"),
        )
        .expect("cannot write the runtime config");
        cmd.args(["--variable", "redis_api=key_value"])
            .arg("--runtime-config-file")
            .arg(&runtime_config);
    }
    let child = Child::spawn(cmd);
    assert!(
        child.wait_for_output("reader-host listening on", Duration::from_secs(120)),
        "reader-host did not start:\n{}",
        child.output()
    );
    let addr = listening_addr(&child.output()).expect("no listening address in the output");
    (child, addr)
}

/// Resident memory (KiB) and open file descriptors of process `pid`.
fn rss_and_fds(pid: u32) -> (u64, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
    (rss, fds)
}

/// Sends `total` GETs of `/server/status` and `/health`, `concurrency` at a time; every
/// one must be the clean 503 (`Err` says which was not).
async fn flood(
    backend: Backend,
    addr: SocketAddr,
    total: usize,
    concurrency: usize,
) -> Result<(), String> {
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..concurrency {
        tasks.spawn(async move {
            let mut slowest = Duration::ZERO;
            for i in (worker..total).step_by(concurrency) {
                let path = if i % 2 == 0 {
                    "/server/status"
                } else {
                    "/health"
                };
                let (reply, took) = timed_get(addr, path).await;
                let body = String::from_utf8_lossy(&reply.body);
                if reply.status != 503 || !body.contains("\"redis_unavailable\"") {
                    return Err(format!("{backend:?} GET {path}: {} {body}", reply.status));
                }
                slowest = slowest.max(took);
            }
            Ok(slowest)
        });
    }
    let mut slowest = Duration::ZERO;
    while let Some(done) = tasks.join_next().await {
        slowest = slowest.max(done.map_err(|e| format!("a flood worker failed: {e}"))??);
    }
    // Under a flood the requests queue for the CPU; each is still bounded by the component.
    println!("{backend:?}: {total} requests, slowest {slowest:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_requests_against_a_stalled_redis_keep_the_host_bounded() {
    const TOTAL: usize = 10_000;
    const CONCURRENCY: usize = 32;
    const WARM_UP: usize = 1_000;
    let _flood = integration_tests::load::saturating().await;
    for backend in [Backend::Outbound, Backend::KeyValue] {
        let redis = TestRedis::new();
        redis.set(&redis.status_key(), document::at(unix_now()));
        // Room for every connection the host may hold at once, so the proxy never refuses.
        let proxy = FaultProxy::with_max_connections(
            integration_tests::fault::upstream_of(&redis.url()),
            4 * CONCURRENCY + 16,
        );
        let concurrency = CONCURRENCY.to_string();
        // Instances reused as under Spin 4: up to 128 requests each, 16 at a time. The
        // WASIp3 guest awaits Redis without blocking its instance, so one stalled call does
        // not hold the instance's other requests behind it.
        let (child, addr) = spawn_host(
            backend,
            &redis,
            &proxy,
            FLOOD_TIMEOUT_MS,
            &["--max-concurrent-requests", &concurrency],
        );
        assert_eq!(wait_for_200(addr, "/server/status").await.status, 200);

        proxy.set_mode(Mode::Stall);
        let flooded = |result: Result<(), String>| {
            if let Err(e) = result {
                let output = child.output();
                let tail: Vec<&str> = output.lines().rev().take(40).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                panic!("{e}\nreader-host's last lines:\n{}", tail.join("\n"));
            }
        };
        flooded(flood(backend, addr, WARM_UP, CONCURRENCY).await);
        let (rss_warm, fds_warm) = rss_and_fds(child.pid());
        flooded(flood(backend, addr, TOTAL, CONCURRENCY).await);
        let (rss_after, fds_after) = rss_and_fds(child.pid());
        println!(
            "{backend:?}: after {WARM_UP} requests RSS {rss_warm} KiB, {fds_warm} fds; \
             after {} more RSS {rss_after} KiB, {fds_after} fds; proxy holds {} connections",
            TOTAL,
            proxy.active()
        );
        // Sockets: at most one per request in flight (outbound) or the one shared
        // connection (key-value), plus the listener's; never one per request made.
        assert!(
            fds_after <= fds_warm + CONCURRENCY + 8,
            "{backend:?}: open fds grew from {fds_warm} to {fds_after} over {TOTAL} requests"
        );
        assert!(
            proxy.active() <= 2 * CONCURRENCY + 2,
            "{backend:?}: the proxy still holds {} connections from the host",
            proxy.active()
        );
        // Memory: 10x the requests may not cost 10x the memory; 32 MiB is the allowance
        // for allocator and cache growth that any long run shows.
        assert!(
            rss_after <= rss_warm + 32 * 1024,
            "{backend:?}: RSS grew from {rss_warm} KiB to {rss_after} KiB over {TOTAL} requests"
        );

        proxy.set_mode(Mode::Pass);
        let reply = wait_for_200(addr, "/server/status").await;
        assert_eq!(reply.status, 200, "{backend:?}: after the stall");
        assert_eq!(wait_for_200(addr, "/health").await.status, 200);
        drop(child);
    }
}
