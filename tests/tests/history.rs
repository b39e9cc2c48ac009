//! The history, with every part real: the stand-in game server flapping on a
//! schedule the test knows, the refresher binary probing it every second and recording
//! into `<key>:history`, MariaDB, Redis, and the reader `.wasm` in reader-host serving
//! `/server/status/history`.
//!
//! - the recorded seconds per state match the schedule within 2 s per transition, the
//!   incidents list the transitions within 2 s, newest first, and the uptime is the
//!   recorded `online / (online + offline)` (within 1 point) and the schedule's within what
//!   the 2 s per transition allow (a 1-second probe over a 30-second run cannot promise
//!   1 point against the schedule: one second is 3 points of it);
//! - kill -9 of the holder: the gap before the new holder's first write counts as unknown
//!   beyond the probe's deadline, never as up; no incident is duplicated; the observed time
//!   is exactly the time from `since` to the last write, never more than wall time;
//! - a corrupt or oversized history key: `/history` answers a clean 502 JSON error while
//!   `/server/status` is fine; the refresher starts such a history again, and a deleted
//!   key starts again with a later `since`;
//! - a Redis restarted without persistence: the history starts again, and `since` says so.
//!
//! The schedule is the test's input (the game server is up or down for six seconds at a
//! time); everything the test asserts about the processes is waited for as a condition.

use std::process::Command;
use std::time::Duration;

use integration_tests::binaries::Child;
use integration_tests::db::TestDb;
use integration_tests::game_server::{
    GameServer, prebuild, probe_scene, probed_refresher, switched_on_db,
};
use integration_tests::reader::{ReaderConfig, ReaderServer};
use integration_tests::redis::{RedisServer, TestRedis};
use integration_tests::unix_now;
use integration_tests::wait::SETTLE;
use status_document::State;
use status_document::history::{History, Incident, MAX_HISTORY_BYTES, Seconds};
use status_document::keys::history_key;

/// The probe of these tests: every second, down after one failure, so the reader (and the
/// history) vouches for each word for `1 × (1 + 1)` = 2 s.
const PROBE_INTERVAL_S: u64 = 1;
/// Three probes per write of the history, between changes of state.
const HISTORY_LAG_S: u64 = 3;
const VOUCH_S: i64 = 2;
/// How long the game server stays up or down in the schedule.
const PHASE: Duration = Duration::from_secs(6);
/// The tolerance per transition the issue asks for.
const PER_TRANSITION_S: f64 = 2.0;

/// The refresher probing `game` every second, down after one failure.
/// The probe tests' refresher, writing the history at most [`HISTORY_LAG_S`] apart: the
/// observations between wait in memory and are recorded together, which these tests then
/// hold to the same seconds and incidents as a write at every probe.
fn refresher(db: &TestDb, redis: &TestRedis, game: &GameServer) -> Command {
    let mut cmd = probed_refresher(
        &db.url(),
        redis,
        &game.addr.to_string(),
        Duration::from_secs(PROBE_INTERVAL_S),
        1,
    );
    cmd.env("STATUS_HISTORY_LAG", HISTORY_LAG_S.to_string());
    cmd
}

fn history(redis: &TestRedis) -> Option<History> {
    redis
        .get(&history_key(&redis.status_key()))
        .map(|raw| History::parse(&raw).expect("the stored history is valid"))
}

/// Polls the stored history until `want` holds (at most [`SETTLE`]).
async fn wait_history(redis: &TestRedis, what: &str, want: impl Fn(&History) -> bool) -> History {
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        if let Some(h) = history(redis).filter(&want) {
            return h;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the history never showed {what}: {:?}",
            history(redis).map(|h| (h.last, h.incidents))
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn last_state(h: &History) -> Option<State> {
    h.last.map(|l| l.state)
}

/// Seconds of `[from, to)` that fall in the periods where the schedule says `up`
/// (`transitions`: (unix time, up after it), in order, the first at or before `from`).
fn scheduled(transitions: &[(f64, bool)], from: f64, to: f64, up: bool) -> f64 {
    let mut total = 0.0;
    for (i, &(start, is_up)) in transitions.iter().enumerate() {
        let end = transitions.get(i + 1).map_or(f64::INFINITY, |t| t.0);
        if is_up == up {
            let (a, b) = (start.max(from), end.min(to));
            total += (b - a).max(0.0);
        }
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_follows_a_flapping_game_server_on_a_known_schedule() {
    let _timed = integration_tests::load::timed().await;
    let (db, redis, mut game) = probe_scene().await;
    let child = Child::spawn(refresher(&db, &redis, &game));
    let reader = ReaderServer::start(ReaderConfig::new(&redis.url(), &redis.status_key())).await;
    let first = wait_history(&redis, "a first online write", |h| {
        last_state(h) == Some(State::Online)
    })
    .await;
    let since = first.since as f64;

    let transitions = flap_on_schedule(&mut game, since).await;
    let end = transitions.last().unwrap().0 + PHASE.as_secs_f64();
    let h = wait_history(&redis, "a write past the schedule's end", |h| {
        h.updated_at >= end
    })
    .await;
    let to = h.last.unwrap().at as f64;
    let v = h.view();
    let s: Seconds = v.seconds.day;
    eprintln!(
        "history: {s:?}, uptime {:?}, {} incidents, schedule {:?}",
        v.uptime.day,
        v.incidents.len(),
        transitions
            .iter()
            .map(|(t, up)| (t - since, *up))
            .collect::<Vec<_>>()
    );

    // Every second from `since` to the last write is counted once, as a state or unknown.
    assert_eq!(s.total() as f64, to - since, "{s:?}");
    let tolerance = PER_TRANSITION_S * 4.0 + 1.0; // four transitions, and whole seconds
    let want_online = scheduled(&transitions, since, to, true);
    let want_offline = scheduled(&transitions, since, to, false);
    assert!(
        (s.online as f64 - want_online).abs() <= tolerance,
        "online {} vs the schedule's {want_online:.1}",
        s.online
    );
    assert!(
        (s.offline as f64 - want_offline).abs() <= tolerance,
        "offline {} vs the schedule's {want_offline:.1}",
        s.offline
    );
    assert_eq!(s.maintenance, 0);

    assert_the_incidents_are_the_schedules(&v.incidents, &transitions);

    // Uptime: the recorded ratio, and the schedule's within the seconds' tolerance.
    let uptime = v.uptime.day.expect("observed");
    let recorded = 100.0 * s.online as f64 / (s.online + s.offline) as f64;
    assert!((uptime - recorded).abs() <= 1.0, "{uptime} vs {recorded}");
    let scheduled_uptime = 100.0 * want_online / (want_online + want_offline);
    let allowed = 100.0 * tolerance / (want_online + want_offline);
    assert!(
        (uptime - scheduled_uptime).abs() <= allowed,
        "uptime {uptime} vs the schedule's {scheduled_uptime:.2} (±{allowed:.1})"
    );

    // The reader serves the same numbers, from one read.
    let reply = reader.get("/server/status/history").await;
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert_eq!(body["since"], first.since);
    assert!(body["seconds"]["24h"]["online"].as_u64().unwrap() >= s.online);
    assert_eq!(body["incidents"].as_array().unwrap().len(), 4);
    assert_eq!(body["_cache"]["source"], "primary");
    assert!(reply.header("etag").is_some());
    drop(child);
}

/// The schedule: up (since the first write), then down, up, down, up, PHASE each. Returns
/// the transitions: (unix time, up after it).
async fn flap_on_schedule(game: &mut GameServer, since: f64) -> Vec<(f64, bool)> {
    let mut transitions = vec![(since, true)];
    for up in [false, true, false, true] {
        tokio::time::sleep(PHASE).await;
        if up {
            game.restart();
        } else {
            game.stop();
        }
        transitions.push((unix_now(), up));
    }
    transitions
}

/// The incidents (newest first) are the four transitions, each within 2 s of the
/// schedule, the outages for the game server being unreachable.
fn assert_the_incidents_are_the_schedules(newest_first: &[&Incident], transitions: &[(f64, bool)]) {
    let incidents: Vec<_> = newest_first.iter().rev().collect();
    assert_eq!(incidents.len(), 4, "{incidents:?}");
    for (incident, &(at, up)) in incidents.iter().zip(&transitions[1..]) {
        let to_state = if up { State::Online } else { State::Offline };
        assert_eq!(incident.to, to_state, "{incident:?}");
        // `at` is a whole second: its middle is within 2 s of the schedule's moment.
        assert!(
            (incident.at as f64 + 0.5 - at).abs() <= PER_TRANSITION_S,
            "{incident:?} is not within 2 s of {at:.3}"
        );
    }
    assert!(newest_first[0].at >= newest_first[1].at, "newest first");
    let outage = incidents[0];
    assert_eq!(outage.reason.map(|r| r.as_str()), Some("unreachable"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_kill_9_the_gap_is_unknown_and_nothing_is_counted_twice() {
    let (db, redis, mut game) = probe_scene().await;
    // A 4-second lease: the takeover gap is longer than the 2 s each word is vouched for.
    let replica = || {
        let mut cmd = refresher(&db, &redis, &game);
        cmd.env("STATUS_LEASE", "4");
        cmd
    };
    let mut holder = Child::spawn(replica());
    wait_history(&redis, "a first online write", |h| {
        last_state(h) == Some(State::Online)
    })
    .await;
    let standby = Child::spawn(replica());
    standby.expect_output("standby", SETTLE);

    // One flap, recorded by the first holder.
    game.stop();
    wait_history(&redis, "offline", |h| last_state(h) == Some(State::Offline)).await;
    game.restart();
    wait_history(&redis, "online again", |h| {
        last_state(h) == Some(State::Online) && h.incidents.len() == 2
    })
    .await;

    holder.kill();
    let killed_at = unix_now();
    let before = history(&redis).expect("a history");
    let old_last = before.last.unwrap().at;
    let taken_over = wait_history(&redis, "the new holder's first write", |h| {
        h.seq > before.seq
    })
    .await;
    let new_first = taken_over.updated_at.floor() as i64;
    let gap = new_first - old_last;
    eprintln!(
        "history: takeover gap {gap} s (the old holder's last write {:.1} s before the kill)",
        killed_at - before.updated_at
    );
    assert!(
        gap > VOUCH_S,
        "a takeover faster than the vouched time: {gap} s"
    );
    let h = wait_history(&redis, "five seconds of the new holder", |h| {
        h.updated_at >= killed_at + 5.0 + gap as f64
    })
    .await;
    let v = h.view();
    let s = v.seconds.day;
    eprintln!("history after the takeover: {s:?}");
    // What nobody vouched for is unknown, never up: at least the gap beyond the 2 s the
    // old holder's last word was vouched for.
    assert!(
        s.unknown as i64 >= gap - VOUCH_S,
        "unknown {} < gap {gap} - {VOUCH_S}: {s:?}",
        s.unknown
    );
    // The observed time is exactly the time from `since` to the last write, within wall
    // time: no second counted twice by the two holders.
    let last = h.last.unwrap().at;
    assert_eq!(s.total() as i64, last - h.since);
    assert!(s.total() as f64 <= unix_now() - h.since as f64);
    // No duplicate incident: the one flap, nothing from the takeover.
    let changes: Vec<_> = v.incidents.iter().map(|i| (i.from, i.to)).collect();
    assert_eq!(
        changes,
        [
            (State::Offline, State::Online),
            (State::Online, State::Offline)
        ],
        "{:?}",
        v.incidents
    );
    assert_eq!(
        h.since, before.since,
        "the takeover continued the same history"
    );
    drop(standby);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_history_key_is_a_clean_502_and_starts_again() {
    let (db, redis, game) = probe_scene().await;
    let key = history_key(&redis.status_key());
    let reader = ReaderServer::start(ReaderConfig::new(&redis.url(), &redis.status_key())).await;
    // A refresher writes the status document and a history; then the key is broken.
    let mut child = Child::spawn(refresher(&db, &redis, &game));
    let first = wait_history(&redis, "a first write", |h| h.last.is_some()).await;
    child.kill();
    let oversized = format!("{{\"v\":1,\"pad\":\"{}\"}}", "x".repeat(MAX_HISTORY_BYTES));
    for (value, code) in [
        (b"{not json".to_vec(), "invalid_history"),
        (b"{\"v\":7}".to_vec(), "invalid_history"),
        (oversized.into_bytes(), "history_too_large"),
    ] {
        redis.set(&key, &value);
        let reply = reader.get("/server/status/history").await;
        assert_eq!(reply.status, 502, "{code}");
        assert_eq!(reply.json()["error"], code);
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        let status = reader.get("/server/status").await;
        assert_eq!(status.status, 200, "/server/status with a {code} history");
    }

    // The refresher starts a corrupt history again (logged), visibly: a new `since`.
    redis.set(&key, b"{not json");
    clock_past(first.last.unwrap().at).await;
    let child = Child::spawn(refresher(&db, &redis, &game));
    let restarted = wait_history_raw(&redis, &key).await;
    assert!(
        restarted.since > first.since,
        "{} <= {}",
        restarted.since,
        first.since
    );
    assert!(
        child.wait_for_output("cannot be read; it starts again", SETTLE),
        "{}",
        child.output()
    );
    assert_eq!(reader.get("/server/status/history").await.status, 200);

    // A lost key (a Redis without persistence restarted) starts again, later.
    clock_past(restarted.since).await;
    redis.del(&key);
    let again = wait_history(&redis, "a history started again", |h| {
        h.since > restarted.since
    })
    .await;
    let reply = reader.get("/server/status/history").await;
    assert_eq!(reply.json()["since"], again.since);
    drop(child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restarted_without_persistence_starts_the_history_again_and_says_since_when() {
    prebuild().await;
    let db = switched_on_db();
    let mut server = RedisServer::start();
    let redis = TestRedis::on(&server.url());
    let game = GameServer::start();
    let child = Child::spawn(refresher(&db, &redis, &game));
    // A few seconds recorded, so the history that follows the restart must start later.
    let before = wait_history(&redis, "three recorded seconds", |h| {
        h.last.is_some_and(|l| l.at >= h.since + 3)
    })
    .await;
    server.kill();
    server.restart();
    let after = wait_history(&redis, "a history started after the restart", |h| {
        h.since > before.since
    })
    .await;
    assert!(after.since > before.last.unwrap().at, "{after:?}");
    let reader = ReaderServer::start(ReaderConfig::new(&redis.url(), &redis.status_key())).await;
    let body = reader.get("/server/status/history").await.json();
    assert_eq!(body["since"], after.since);
    let counted = body["seconds"]["24h"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum::<u64>();
    assert!(
        counted as f64 <= unix_now() - after.since as f64,
        "nothing before the restart is counted: {body:#}"
    );
    drop(child);
}

/// Waits until the wall clock is in a whole second after `t`, so a history started from
/// now has a later `since`.
async fn clock_past(t: i64) {
    while unix_now().floor() as i64 <= t {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The first parseable history in `key` (the test put an unparseable one there).
async fn wait_history_raw(redis: &TestRedis, key: &str) -> History {
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        if let Some(h) = redis.get(key).and_then(|raw| History::parse(&raw).ok()) {
            return h;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the refresher never replaced the corrupt history"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
