//! What every e2e test uses: the seeded database, the refresher as deployed, the reader, and
//! the checks of what `/server/status` says about freshness.

use std::process::Command;
use std::time::{Duration, Instant};

use integration_tests::binaries::{Child, refresher_bin, refresher_for};
use integration_tests::db::{TestDb, constant};
use integration_tests::reader::{ReaderConfig, ReaderServer, Reply, reader_wasm};
use integration_tests::redis::TestRedis;
use integration_tests::unix_now;
use status_document::StatusDocument;

/// Room for scheduling noise on a busy two-core machine, on top of what the design promises.
pub(super) const SLACK: Duration = Duration::from_millis(1500);
/// Bound on a refresher's start-up until its first document is readable: generous, as a
/// loaded machine can take seconds to start a process; no promise of the product's.
pub(super) const FIRST_DOCUMENT_WITHIN: Duration = Duration::from_secs(30);
/// The refresher stops within 5 s of SIGTERM; a little more for a loaded machine.
pub(super) const STOP_WITHIN: Duration = Duration::from_secs(7);
/// How often waits look again.
const POLL: Duration = Duration::from_millis(50);

pub(super) const EXP_BEFORE: f64 = 1.5;

/// The seven mapped constants and a few others, as a game's table holds them.
pub(super) fn seeded_db() -> TestDb {
    TestDb::with_constants(
        "DOUBLE",
        &[
            constant("ServerStatus", 1.0, Some("Сервер включён")),
            constant("RateExp", EXP_BEFORE, Some("Рейт опыта")),
            constant("RatePvp", 2.0, Some("Рейт PvP")),
            constant("RatePve", 3.0, Some("Рейт PvE")),
            constant("RateColorMob", 1.25, Some("Рейт цветных мобов")),
            constant("RateSkill", 4.0, Some("Рейт навыков")),
            constant("CLIENT_STATUS", 256.0, Some("Версия клиента")),
            constant("MaxPlayers", 500.0, Some("Максимум игроков")),
        ],
    )
}

/// The refresher as deployed, for this test's database URL and keys.
pub(super) fn refresher(
    database_url: &str,
    redis: &TestRedis,
    interval_s: u64,
    ttl_s: u64,
) -> Command {
    let mut cmd = refresher_for(database_url, &redis.url(), redis);
    cmd.env("STATUS_UPDATE_INTERVAL", interval_s.to_string())
        .env("STATUS_CACHE_TTL", ttl_s.to_string())
        .env("STATUS_TIMEOUT", "2")
        // Parallel tests must not fight over the default metrics port.
        .env("STATUS_METRICS_ADDR", "127.0.0.1:0");
    cmd
}

/// Builds what the test runs before any clock starts, so build time never counts as delay.
pub(super) async fn prebuild() {
    tokio::task::spawn_blocking(|| {
        refresher_bin();
        reader_wasm();
    })
    .await
    .expect("building the binaries panicked");
}

pub(super) async fn reader(redis: &TestRedis) -> ReaderServer {
    ReaderServer::start(ReaderConfig::new(&redis.url(), &redis.status_key())).await
}

/// `_cache` as the reader adds it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Cache {
    pub(super) age_seconds: u64,
    pub(super) fresh: bool,
    pub(super) stale: bool,
    pub(super) source: String,
}

/// One answer of `/server/status`, with the times the request was sent and answered.
#[derive(Debug)]
pub(super) struct Status {
    pub(super) doc: StatusDocument,
    pub(super) cache: Cache,
    pub(super) reply: Reply,
    pub(super) sent: f64,
    pub(super) answered: f64,
}

/// Parses a 200 `/server/status` answer, or says why it is not one.
pub(super) fn parse_status(reply: &Reply) -> Result<(StatusDocument, Cache), String> {
    if reply.status != 200 {
        return Err(format!(
            "status {}: {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        ));
    }
    let doc: StatusDocument =
        serde_json::from_slice(&reply.body).map_err(|e| format!("not a status document ({e})"))?;
    let v: serde_json::Value =
        serde_json::from_slice(&reply.body).map_err(|e| format!("not JSON ({e})"))?;
    let c = &v["_cache"];
    let cache = Cache {
        age_seconds: c["age_seconds"].as_u64().ok_or("no _cache.age_seconds")?,
        fresh: c["fresh"].as_bool().ok_or("no _cache.fresh")?,
        stale: c["stale"].as_bool().ok_or("no _cache.stale")?,
        source: c["source"].as_str().ok_or("no _cache.source")?.to_owned(),
    };
    if c["cached"] != true {
        return Err(format!("_cache.cached is {}", c["cached"]));
    }
    Ok((doc, cache))
}

/// `GET /server/status` as a [`Status`], or why the answer is not a 200 with a document.
async fn status_or_why(reader: &ReaderServer) -> Result<Status, String> {
    let sent = unix_now();
    let reply = reader.get("/server/status").await;
    let answered = unix_now();
    let (doc, cache) = parse_status(&reply)?;
    Ok(Status {
        doc,
        cache,
        reply,
        sent,
        answered,
    })
}

/// `GET /server/status`, which must be a 200 with a valid document.
pub(super) async fn status(reader: &ReaderServer) -> Status {
    status_or_why(reader)
        .await
        .unwrap_or_else(|e| panic!("/server/status: {e}"))
}

/// Polls `probe` until it returns `Some`, failing after `limit` with `what` and the last
/// thing seen.
pub(super) async fn wait_for<T>(
    limit: Duration,
    what: &str,
    mut probe: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        let last = match probe().await {
            Ok(t) => return t,
            Err(last) => last,
        };
        assert!(
            Instant::now() < deadline,
            "{what}: not within {limit:?}; last seen: {last}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Waits for the first document to be served fresh from the primary key (the refresher's
/// start-up refresh), and returns that answer. The answer waited for is the one returned:
/// a second request afterwards could, with a short interval on a busy machine, land in the
/// moment a refresh is overdue and not be fresh.
pub(super) async fn first_document(reader: &ReaderServer, child: &mut Child) -> Status {
    wait_for(FIRST_DOCUMENT_WITHIN, "first document", async || {
        if let Some(exit) = child.wait_timeout(Duration::ZERO) {
            panic!("refresher exited ({exit}):\n{}", child.output());
        }
        let s = status_or_why(reader).await?;
        if s.cache.source == "primary" && s.cache.fresh {
            Ok(s)
        } else {
            Err(format!("{:?}", s.cache))
        }
    })
    .await
}

/// A reader and a refresher on this test's keys, the refresher on `database_url` every
/// `interval_s` with `ttl_s`, and the first document it wrote, already served.
pub(super) struct Running {
    pub(super) redis: TestRedis,
    pub(super) reader: ReaderServer,
    pub(super) child: Child,
    pub(super) first: Status,
}

/// Builds first ([`prebuild`]), then starts a [`Running`].
pub(super) async fn running(database_url: &str, interval_s: u64, ttl_s: u64) -> Running {
    prebuild().await;
    let redis = TestRedis::new();
    let reader = reader(&redis).await;
    let mut child = Child::spawn(refresher(database_url, &redis, interval_s, ttl_s));
    let first = first_document(&reader, &mut child).await;
    Running {
        redis,
        reader,
        child,
        first,
    }
}

/// Checks `_cache.age_seconds` against `updated_at` and the moments the request was sent and
/// answered: the reader's clock read falls between them, and the age is in whole seconds,
/// rounded down.
pub(super) fn assert_age_consistent(s: &Status) {
    let low = (s.sent - s.doc.updated_at).max(0.0).floor();
    let high = (s.answered - s.doc.updated_at).max(0.0);
    let age = s.cache.age_seconds as f64;
    assert!(
        low <= age && age <= high + 0.01,
        "age_seconds {age} is not between {low} and {high} (updated_at {}, sent {}, answered {})",
        s.doc.updated_at,
        s.sent,
        s.answered
    );
    // `fresh` is "age within the refresh interval", judged at the reader's moment.
    let interval = s.doc.refresh_interval_s as f64;
    if s.cache.fresh {
        assert!(
            s.sent - s.doc.updated_at <= interval + 0.01,
            "fresh at age {high} > interval {interval}"
        );
    } else {
        assert!(
            high > interval - 0.01,
            "not fresh at age {high} <= interval {interval}"
        );
    }
    // `stale` is "past the TTL": always for the last-known-good copy (the primary key has
    // expired), and for the primary copy in the moment between `updated_at + ttl` and the
    // key's expiry (the key's TTL starts at the write, a little after the read).
    let ttl = s.doc.ttl_s as f64;
    match (s.cache.source.as_str(), s.cache.stale) {
        ("last_good", stale) => assert!(stale, "last_good not marked stale: {:?}", s.cache),
        ("primary", true) => assert!(
            high > ttl - 0.01,
            "primary marked stale at age {high} <= TTL {ttl}"
        ),
        ("primary", false) => assert!(
            s.sent - s.doc.updated_at <= ttl + 0.01,
            "primary not marked stale at age {low} > TTL {ttl}"
        ),
        (other, _) => panic!("unknown _cache.source {other:?}"),
    }
}

pub(super) fn assert_fresh_primary(s: &Status) {
    assert_eq!(s.cache.source, "primary", "{:?}", s.cache);
    assert!(s.cache.fresh, "{:?}", s.cache);
    assert!(!s.cache.stale, "{:?}", s.cache);
    assert!(
        s.cache.age_seconds <= s.doc.refresh_interval_s,
        "{:?}",
        s.cache
    );
    assert_age_consistent(s);
}

pub(super) fn still_running(child: &mut Child) {
    if let Some(exit) = child.wait_timeout(Duration::ZERO) {
        panic!("refresher exited ({exit}):\n{}", child.output());
    }
}

/// Waits until the reader serves the last-known-good copy. Every answer on the way must still
/// be `last`'s data (nobody can refresh: `why`) with a consistent age. The flag says whether
/// the primary copy was seen overdue (served, not fresh) before the fallback.
pub(super) async fn last_good_after(
    reader: &ReaderServer,
    last: &Status,
    limit: Duration,
    what: &str,
    why: &str,
) -> (Status, bool) {
    let mut saw_overdue = false;
    let fallback = wait_for(limit, what, async || {
        let s = status(reader).await;
        assert_eq!(s.doc.updated_at, last.doc.updated_at, "{why}");
        assert_eq!(s.doc.rates.unwrap().exp, EXP_BEFORE, "the last data");
        assert_age_consistent(&s);
        if s.cache.source == "last_good" {
            return Ok(s);
        }
        saw_overdue |= !s.cache.fresh;
        Err(format!("{:?}", s.cache))
    })
    .await;
    (fallback, saw_overdue)
}

/// Waits until the reader serves a fresh primary copy with `rates.exp` = `exp`.
pub(super) async fn fresh_with_exp(
    reader: &ReaderServer,
    exp: f64,
    limit: Duration,
    what: &str,
) -> Status {
    wait_for(limit, what, async || {
        let s = status(reader).await;
        if s.cache.source == "primary" && s.cache.fresh && s.doc.rates.unwrap().exp == exp {
            Ok(s)
        } else {
            Err(format!("{:?} {:?}", s.doc.rates, s.cache))
        }
    })
    .await
}
