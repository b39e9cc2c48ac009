//! Chaos: for `RELIABILITY_CHAOS_SECS` the refresher, Redis and the database connection are
//! killed, stalled and brought back at random while four clients send requests; every answer
//! must be a valid document or a clean 503, and everything must heal by itself.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use integration_tests::binaries::{Child, Signal};
use integration_tests::db::{self, TestDb, constant};
use integration_tests::fault::{FaultProxy, Mode};
use integration_tests::reader::Reply;
use integration_tests::redis::RedisServer;
use integration_tests::unix_now;
use integration_tests::wait::SETTLE;
use status_document::DocumentView;

use super::{REQUEST_LIMIT, daemon_command, spawn_reader, try_get, unique_key, wait_for_fresh};

/// What one response was, for the tally; `Err` is a violation of the reader's contract.
fn judge(path: &str, result: Result<Reply, String>) -> Result<String, String> {
    let reply = result?;
    let body = String::from_utf8_lossy(&reply.body);
    let json: serde_json::Value = serde_json::from_slice(&reply.body).map_err(|e| {
        format!(
            "GET {path}: {} with a non-JSON body ({e}): {body:?}",
            reply.status
        )
    })?;
    if reply.header("content-type") != Some("application/json; charset=utf-8") {
        return Err(format!(
            "GET {path}: content-type {:?}",
            reply.header("content-type")
        ));
    }
    let code = json["error"].as_str().unwrap_or("");
    match (path, reply.status) {
        ("/server/status", 200) => {
            DocumentView::parse(&reply.body)
                .map_err(|e| format!("GET {path}: 200 with an invalid document ({e}): {body:?}"))?;
            if !json["_cache"].is_object() {
                return Err(format!("GET {path}: 200 without _cache: {body:?}"));
            }
            Ok("200 document".into())
        }
        ("/server/status", 503) if matches!(code, "redis_unavailable" | "status_unavailable") => {
            Ok(format!("503 {code}"))
        }
        ("/health", 200) if json["status"] == "ok" => Ok("health 200 ok".into()),
        ("/health", 503) if json["status"] == "stale" => Ok("health 503 stale".into()),
        ("/health", 503)
            if json["status"] == "error"
                && matches!(
                    json["error"].as_str(),
                    Some("redis_unavailable" | "status_unavailable")
                ) =>
        {
            Ok(format!(
                "health 503 {}",
                json["error"].as_str().unwrap_or("")
            ))
        }
        _ => Err(format!("GET {path}: unexpected {}: {body:?}", reply.status)),
    }
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[derive(Debug, Default)]
struct Tally {
    outcomes: BTreeMap<String, u64>,
    violations: Vec<String>,
    slowest: Duration,
    /// Requests slower than a second (the host's Redis timeout), with when they started.
    over_1s: u32,
}

#[derive(Debug, Default)]
struct Faults {
    refresher_sigkill: u32,
    refresher_sigterm: u32,
    refresher_start: u32,
    redis_kill: u32,
    redis_restart: u32,
    db_refuse: u32,
    db_stall: u32,
    db_heal: u32,
    table_updates: u32,
}

/// Chaos duration: `RELIABILITY_CHAOS_SECS` (15..=3600), default 20.
fn chaos_duration() -> Duration {
    let secs = std::env::var("RELIABILITY_CHAOS_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(20)
        .clamp(15, 3600);
    Duration::from_secs(secs)
}

/// The timeline of faults, as `(seconds since start, what)`, printed when the contract broke.
type Events = Arc<Mutex<Vec<(f64, String)>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_every_response_is_a_document_or_a_clean_503() {
    let run_for = chaos_duration();
    let db = TestDb::with_constants(
        "DOUBLE",
        &[
            constant("RateExp", 1.0, Some("Рейт")),
            constant("ServerStatus", 1.0, None),
        ],
    );
    let proxy = FaultProxy::for_url(&db::server_url());
    let db_url = proxy.rewrite_url(&db.url());
    let redis = tokio::task::block_in_place(RedisServer::start);
    let key = unique_key();
    let (reader, addr) =
        tokio::task::block_in_place(|| spawn_reader(&redis.url(), &key, &[], &[], &[]));
    let spawn_refresher = {
        let (db_url, redis_url, key) = (db_url.clone(), redis.url(), key.clone());
        move || Child::spawn(daemon_command(&db_url, &redis_url, &key, "2"))
    };
    let first = spawn_refresher();
    wait_for_fresh(addr, 0.0, SETTLE)
        .await
        .unwrap_or_else(|last| panic!("never served: {last}\n{}", first.output()));

    let t0 = Instant::now();
    let events: Events = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let clients = spawn_load_clients(addr, t0, &stop, &tally);
    let lag = spawn_lag_monitor(t0, &stop);

    let log = Arc::clone(&events);
    let event = move |what: &str| {
        log.lock()
            .unwrap()
            .push(((Instant::now() - t0).as_secs_f64(), what.to_owned()));
    };
    let stack = Stack {
        refresher: Some(first),
        redis,
        proxy,
        db,
    };
    let driver =
        tokio::task::spawn_blocking(move || drive_faults(run_for, stack, spawn_refresher, event));
    let (faults, stack) = driver.await.expect("chaos driver failed");
    let healed_at = unix_now();
    let recovered = wait_for_fresh(addr, healed_at - 1.0, SETTLE).await;
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.expect("load client panicked");
    }
    let (worst_lag, worst_lag_at) = lag.await.expect("lag monitor");
    let tally = std::mem::take(&mut *tally.lock().unwrap());
    let total: u64 = tally.outcomes.values().sum::<u64>() + tally.violations.len() as u64;
    eprintln!(
        "chaos {run_for:?}: {total} responses {:?}; slowest {:?}, {} over 1 s; \
         test-process timer lag up to {worst_lag:?} (at +{worst_lag_at:.1}s); faults {faults:?}",
        tally.outcomes, tally.slowest, tally.over_1s
    );
    if !tally.violations.is_empty() {
        print_timeline(&events, &reader);
    }
    if let Err(last) = recovered {
        let refresher = stack.refresher.as_ref().expect("healed with a refresher");
        panic!(
            "no fresh document after healing: {last}\nrefresher:\n{}",
            refresher.output()
        );
    }
    assert_contract_held(&tally, total);
    assert_run_exercised(&tally, &faults);
    assert_reader_rode_it_out(reader);
    // The last document in Redis is whole and current.
    let raw = stack.redis.get(&key).expect("a document after recovery");
    DocumentView::parse(&raw).expect("the stored document is valid");
}

/// Load: four clients, a request every few ms each, mostly /server/status, each answer
/// judged and tallied (with its start relative to `t0`) until `stop`.
fn spawn_load_clients(
    addr: std::net::SocketAddr,
    t0: Instant,
    stop: &Arc<AtomicBool>,
    tally: &Arc<Mutex<Tally>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (stop, tally) = (Arc::clone(stop), Arc::clone(tally));
        clients.push(tokio::spawn(async move {
            let mut rng = fastrand::Rng::new();
            while !stop.load(Ordering::Relaxed) {
                let path = if rng.u8(..5) == 0 {
                    "/health"
                } else {
                    "/server/status"
                };
                let started = Instant::now();
                let verdict = judge(path, try_get(addr, path, REQUEST_LIMIT).await);
                record(&tally, t0, started, verdict);
                tokio::time::sleep(Duration::from_millis(rng.u64(2..20))).await;
            }
        }));
    }
    clients
}

/// Adds one judged request, started at `started`, to the tally: its outcome or violation,
/// and whether it was the slowest or over a second.
fn record(tally: &Mutex<Tally>, t0: Instant, started: Instant, verdict: Result<String, String>) {
    let took = started.elapsed();
    let mut t = tally.lock().unwrap();
    t.slowest = t.slowest.max(took);
    if took > Duration::from_secs(1) {
        t.over_1s += 1;
    }
    let at = (started - t0).as_secs_f64();
    match verdict {
        Ok(outcome) => *t.outcomes.entry(outcome).or_default() += 1,
        Err(v) => t.violations.push(format!("+{at:.2}s took {took:?}: {v}")),
    }
}

/// How late this process's own timers run: a stalled test process (an overloaded
/// machine) is told apart from a slow reader. Yields the worst lateness and when
/// (seconds after `t0`) it happened.
fn spawn_lag_monitor(
    t0: Instant,
    stop: &Arc<AtomicBool>,
) -> tokio::task::JoinHandle<(Duration, f64)> {
    let stop = Arc::clone(stop);
    tokio::spawn(async move {
        let mut worst = (Duration::ZERO, 0.0);
        while !stop.load(Ordering::Relaxed) {
            let before = Instant::now();
            tokio::time::sleep(Duration::from_millis(100)).await;
            let late = before.elapsed().saturating_sub(Duration::from_millis(100));
            if late > worst.0 {
                worst = (late, (before - t0).as_secs_f64());
            }
        }
        worst
    })
}

/// The parts the driver toggles, handed to it and back so the test can inspect them after.
struct Stack {
    refresher: Option<Child>,
    redis: RedisServer,
    proxy: FaultProxy,
    db: TestDb,
}

/// The driver: for `run_for`, in shuffled rounds, toggles one part at a time at random
/// intervals (now and then bumping the table so there is something new to publish),
/// then heals everything; the returned stack has a refresher running.
fn drive_faults(
    run_for: Duration,
    mut stack: Stack,
    spawn_refresher: impl Fn() -> Child,
    event: impl Fn(&str),
) -> (Faults, Stack) {
    let mut rng = fastrand::Rng::new();
    let mut faults = Faults::default();
    let deadline = Instant::now() + run_for;
    let mut parts = [0u8, 1, 2];
    'run: loop {
        rng.shuffle(&mut parts);
        for part in parts {
            if Instant::now() >= deadline {
                break 'run;
            }
            std::thread::sleep(Duration::from_millis(rng.u64(150..900)));
            match part {
                0 => toggle_refresher(
                    &mut rng,
                    &mut stack.refresher,
                    &mut faults,
                    &spawn_refresher,
                    &event,
                ),
                1 => toggle_redis(&mut stack.redis, &mut faults, &event),
                _ => toggle_db(&mut rng, &stack.proxy, &mut faults, &event),
            }
            if rng.u8(..4) == 0 {
                stack
                    .db
                    .exec("UPDATE constants SET Value = Value + 1 WHERE Name = 'RateExp'");
                faults.table_updates += 1;
            }
        }
    }
    // Heal everything.
    stack.proxy.set_mode(Mode::Pass);
    if !stack.redis.is_up() {
        stack.redis.restart();
    }
    stack.refresher = Some(stack.refresher.take().unwrap_or_else(&spawn_refresher));
    (faults, stack)
}

/// A running refresher is killed (SIGKILL, or SIGTERM and it must exit cleanly); a missing
/// one is started.
fn toggle_refresher(
    rng: &mut fastrand::Rng,
    refresher: &mut Option<Child>,
    faults: &mut Faults,
    spawn_refresher: &impl Fn() -> Child,
    event: &impl Fn(&str),
) {
    match refresher.take() {
        Some(mut child) if rng.bool() => {
            child.kill();
            event("refresher SIGKILL");
            faults.refresher_sigkill += 1;
        }
        Some(mut child) => {
            child.signal(Signal::Term).expect("kill");
            event("refresher SIGTERM");
            let status = child.wait(SETTLE);
            // A TERM that lands before the handlers are installed kills it.
            assert!(
                status.success() || status.signal() == Some(15),
                "refresher after SIGTERM: {status:?}\n{}",
                child.output()
            );
            faults.refresher_sigterm += 1;
        }
        None => {
            *refresher = Some(spawn_refresher());
            event("refresher started");
            faults.refresher_start += 1;
        }
    }
}

/// Redis, if up, is SIGKILLed; if down, restarted.
fn toggle_redis(redis: &mut RedisServer, faults: &mut Faults, event: &impl Fn(&str)) {
    if redis.is_up() {
        redis.kill();
        event("redis SIGKILL");
        faults.redis_kill += 1;
    } else {
        event("redis restarting");
        redis.restart();
        event("redis up");
        faults.redis_restart += 1;
    }
}

/// The database connection, if passing, starts refusing or stalling; else it heals.
fn toggle_db(
    rng: &mut fastrand::Rng,
    proxy: &FaultProxy,
    faults: &mut Faults,
    event: &impl Fn(&str),
) {
    match proxy.mode() {
        Mode::Pass if rng.bool() => {
            proxy.set_mode(Mode::Refuse);
            event("db refuse");
            faults.db_refuse += 1;
        }
        Mode::Pass => {
            proxy.set_mode(Mode::Stall);
            event("db stall");
            faults.db_stall += 1;
        }
        _ => {
            proxy.set_mode(Mode::Pass);
            event("db pass");
            faults.db_heal += 1;
        }
    }
}

/// On a broken contract: the fault timeline and the reader's last lines, to line the
/// violations up against.
fn print_timeline(events: &Events, reader: &Child) {
    let timeline: Vec<String> = events
        .lock()
        .unwrap()
        .iter()
        .map(|(at, what)| format!("+{at:.2}s {what}"))
        .collect();
    eprintln!("chaos timeline:\n{}", timeline.join("\n"));
    eprintln!("reader-host output (tail):\n{}", tail(&reader.output(), 60));
}

/// Every response was a document or a clean 503 (else the first ten that were not).
fn assert_contract_held(tally: &Tally, total: u64) {
    assert!(
        tally.violations.is_empty(),
        "{} of {total} responses broke the contract, e.g.:\n{}",
        tally.violations.len(),
        tally
            .violations
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The run must have exercised what it claims, and no request took the full limit.
fn assert_run_exercised(tally: &Tally, faults: &Faults) {
    let count = |k: &str| tally.outcomes.get(k).copied().unwrap_or(0);
    assert!(count("200 document") > 0, "{:?}", tally.outcomes);
    assert!(count("503 redis_unavailable") > 0, "{:?}", tally.outcomes);
    assert!(
        faults.refresher_sigkill + faults.refresher_sigterm >= 2,
        "{faults:?}"
    );
    assert!(faults.redis_kill >= 2, "{faults:?}");
    assert!(faults.db_refuse + faults.db_stall >= 2, "{faults:?}");
    assert!(tally.slowest < REQUEST_LIMIT);
}

/// The reader process rode it all out: still running, and never panicked.
fn assert_reader_rode_it_out(mut reader: Child) {
    assert!(
        reader.wait_timeout(Duration::ZERO).is_none() && !reader.output().contains("panicked"),
        "reader-host:\n{}",
        reader.output()
    );
}
