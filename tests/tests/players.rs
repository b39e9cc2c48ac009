//! Players online: the real refresher runs `STATUS_PLAYERS_QUERY` against the
//! real MariaDB and publishes the count to the real Redis.
//!
//! - the count follows `INSERT`s and `DELETE`s within a players interval, without reading
//!   `constants` again, and `max_players` comes from `STATUS_MAX_PLAYERS_CONSTANT`;
//! - an odd answer (NULL, a string, a negative number, a fraction, no rows, two rows, two
//!   columns, a missing table, a query slower than `STATUS_TIMEOUT`) is logged with the
//!   exact reason, the refresher keeps running, and a refresh after it still publishes the
//!   last good count with its own `players_at`; the next good answer is published again;
//! - a query that can never work (missing table, syntax error, missing column) is named by
//!   the start-up preflight, and the refresher runs on without players — nor with the
//!   count a previous run left in the document;
//! - the query runs read-only: as a user who may write, a statement that writes, and a
//!   SELECT of a function that writes, change nothing.
//!
//! Every test waits for what it asserts; the deadlines are generous for a busy CI machine.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use integration_tests::binaries::{Child, refresher_for};
use integration_tests::db::{TestDb, constant};
use integration_tests::live::{document, expect_document, publish, sample};
use integration_tests::probe::metrics_addr;
use integration_tests::redis::TestRedis;
use integration_tests::unix_now;
use integration_tests::wait::wait_until;
use status_document::{MAX_PLAYERS, StatusDocument};

/// Bound on anything the refresher should do within a couple of seconds.
const SOON: Duration = Duration::from_secs(20);

const ONLINE: &str = "SELECT COUNT(*) FROM characters WHERE online = 1";

/// `constants` with ServerStatus = 1 and MaxOnline = 500, and `characters` with
/// `online_now` of its rows online (and two offline).
fn game_db(online_now: usize) -> TestDb {
    let db = TestDb::new();
    db.create_constants("DOUBLE");
    db.insert_constants(&[
        constant("ServerStatus", 1.0, None),
        constant("MaxOnline", 500.0, Some("Most players at once")),
    ]);
    db.exec(
        "CREATE TABLE characters (id INT AUTO_INCREMENT PRIMARY KEY, \
         name VARCHAR(32) NOT NULL, online TINYINT NOT NULL DEFAULT 0)",
    );
    db.exec("INSERT INTO characters (name, online) VALUES ('off1', 0), ('off2', 0)");
    for i in 0..online_now {
        db.exec(&format!(
            "INSERT INTO characters (name, online) VALUES ('on{i}', 1)"
        ));
    }
    db
}

/// A daemon that counts players every second with `query`, refreshes `constants` only when
/// nudged (the interval is 600 s) and gives every call one second.
fn daemon(db: &TestDb, redis: &TestRedis, query: &str) -> Command {
    let mut cmd = refresher_for(&db.url(), &redis.url(), redis);
    cmd.env("STATUS_UPDATE_INTERVAL", "600")
        .env("STATUS_TIMEOUT", "1")
        .env("STATUS_METRICS_ADDR", "127.0.0.1:0")
        .env("STATUS_PLAYERS_QUERY", query)
        .env("STATUS_PLAYERS_INTERVAL", "1")
        .env("STATUS_MAX_PLAYERS_CONSTANT", "MaxOnline");
    cmd
}

/// Starts `cmd` and waits for its first document.
fn started(cmd: Command, redis: &TestRedis) -> Child {
    let child = Child::spawn(cmd);
    expect_document(&child, redis, SOON);
    child
}

fn players(redis: &TestRedis) -> Option<u64> {
    document(redis).and_then(|d| d.players)
}

fn current(redis: &TestRedis) -> StatusDocument {
    document(redis).expect("the document is gone")
}

#[test]
fn the_count_follows_inserts_and_deletes_and_max_players_comes_from_its_constant() {
    let db = game_db(3);
    let redis = TestRedis::new();
    let mut child = started(daemon(&db, &redis, ONLINE), &redis);
    let addr = metrics_addr(&child);
    assert!(
        wait_until(SOON, || players(&redis) == Some(3)),
        "{:?}\n{}",
        document(&redis),
        child.output()
    );
    let first = current(&redis);
    assert_eq!(first.max_players, Some(500), "from MaxOnline");
    let mut at = first.players_at.expect("a count has its time");
    assert!((unix_now() - at).abs() < 30.0, "players_at = {at}");

    let steps: [(&str, u64); 4] = [
        (
            "INSERT INTO characters (name, online) VALUES ('a', 1), ('b', 1), ('c', 0)",
            5,
        ),
        (
            "DELETE FROM characters WHERE online = 1 ORDER BY id LIMIT 4",
            1,
        ),
        ("INSERT INTO characters (name, online) VALUES ('d', 1)", 2),
        ("DELETE FROM characters WHERE online = 1", 0),
    ];
    for (sql, want) in steps {
        db.exec(sql);
        assert!(
            wait_until(SOON, || players(&redis) == Some(want)),
            "after {sql}: {:?}\n{}",
            document(&redis),
            child.output()
        );
        let d = current(&redis);
        let now_at = d.players_at.expect("a count has its time");
        assert!(now_at > at, "after {sql}: players_at {now_at} <= {at}");
        at = now_at;
        // The count was written between reads of `constants`: the document's read time
        // is still the start-up one, and max_players is carried along.
        assert_eq!(d.updated_at, first.updated_at, "after {sql}");
        assert_eq!(d.max_players, Some(500));
    }
    assert_eq!(sample(addr, "status_refresher_players"), 0.0);
    assert_eq!(
        sample(addr, "status_refresher_players_query_failures_total"),
        0.0,
        "{}",
        child.output()
    );
    assert!(child.exited().is_none(), "{}", child.output());
}

/// One odd answer: what `answer` becomes, and the reason the log must give.
struct Odd {
    what: &'static str,
    sql: String,
    reason: String,
}

fn odd(what: &'static str, sql: &str, reason: &str) -> Odd {
    Odd {
        what,
        sql: sql.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Replaces `answer` (a table or a view) with what `sql` creates.
fn answer(db: &TestDb, sql: &str) {
    db.exec("DROP VIEW IF EXISTS answer; DROP TABLE IF EXISTS answer");
    if !sql.is_empty() {
        db.exec(sql);
    }
}

/// Every odd answer the query can give, each with the reason the log must name.
fn odd_answers(db: &TestDb) -> Vec<Odd> {
    let missing = format!(
        "the database refused the query (no such table, error 1146): Table '{}.answer' \
         doesn't exist",
        db.name()
    );
    vec![
        odd(
            "NULL",
            "CREATE TABLE answer (v INT NULL); INSERT INTO answer VALUES (NULL)",
            "the query returned NULL; expected a number",
        ),
        odd(
            "a string",
            "CREATE TABLE answer (v VARCHAR(16)); INSERT INTO answer VALUES ('many')",
            &format!(
                "the query returned \"many\", which is not a whole number from 0 to \
                 {MAX_PLAYERS}"
            ),
        ),
        odd(
            "a negative number",
            "CREATE TABLE answer (v INT); INSERT INTO answer VALUES (-3)",
            "the query returned \"-3\", which is negative",
        ),
        odd(
            "a fraction",
            "CREATE TABLE answer (v DOUBLE); INSERT INTO answer VALUES (1.5)",
            &format!(
                "the query returned \"1.5\", which is not a whole number from 0 to \
                 {MAX_PLAYERS}"
            ),
        ),
        odd(
            "no rows",
            "CREATE TABLE answer (v INT)",
            "the query returned no rows; expected one row with one number",
        ),
        odd(
            "two rows",
            "CREATE TABLE answer (v INT); INSERT INTO answer VALUES (1), (2)",
            "the query returned more than one row; expected one row with one number",
        ),
        odd(
            "two columns",
            "CREATE TABLE answer (v INT, w INT); INSERT INTO answer VALUES (1, 2)",
            "the query returned 2 columns; expected one",
        ),
        odd("a missing table", "", &missing),
        odd(
            "a query slower than STATUS_TIMEOUT",
            "CREATE VIEW answer AS SELECT SLEEP(5) AS v",
            "the query ran longer than 1s and was stopped",
        ),
    ]
}

/// After the good count `good` is published, `case`'s odd answer is logged with its reason
/// and counted as a failure, and a full refresh still carries `good` with its time.
fn odd_answer_keeps_the_last_good_count(
    db: &TestDb,
    redis: &TestRedis,
    child: &mut Child,
    addr: SocketAddr,
    good: u64,
    case: &Odd,
) {
    // A good answer first: a count that is published, with its time.
    answer(
        db,
        &format!("CREATE TABLE answer (v INT); INSERT INTO answer VALUES ({good})"),
    );
    assert!(
        wait_until(SOON, || players(redis) == Some(good)),
        "before {}: {:?}\n{}",
        case.what,
        document(redis),
        child.output()
    );
    let failures = sample(addr, "status_refresher_players_query_failures_total");

    // Then the odd one: logged with its reason, counted as a failure.
    let mark = child.output().len();
    answer(db, &case.sql);
    let changed = unix_now();
    let logged = |child: &Child| {
        child.output()[mark..]
            .lines()
            .any(|l| l.contains("players query failed") && l.contains(&case.reason))
    };
    assert!(
        wait_until(SOON, || logged(child)),
        "{}: no log line with {:?}:\n{}",
        case.what,
        case.reason,
        &child.output()[mark..]
    );
    // The metric is counted right after the line is logged.
    assert!(
        wait_until(SOON, || sample(
            addr,
            "status_refresher_players_query_failures_total"
        ) > failures),
        "{}: the failure was not counted",
        case.what
    );

    // A full refresh after the change runs the query again (which fails again) and
    // writes the document anew: it still carries the last good count and its time.
    assert_eq!(publish(redis), 1, "the refresher is subscribed");
    assert!(
        wait_until(SOON, || current(redis).updated_at > changed),
        "{}: no refresh after the nudge:\n{}",
        case.what,
        &child.output()[mark..]
    );
    let d = current(redis);
    assert_eq!(d.players, Some(good), "{}: {d:?}", case.what);
    let at = d.players_at.expect("the last good count keeps its time");
    assert!(
        at < changed,
        "{}: players_at {at} is not older than the odd answer ({changed})",
        case.what
    );
    assert_eq!(sample(addr, "status_refresher_players"), good as f64);
    assert!(
        child.exited().is_none(),
        "{}: the refresher exited:\n{}",
        case.what,
        child.output()
    );
}

#[test]
fn odd_answers_are_logged_with_their_reason_and_the_last_good_count_stays() {
    let db = game_db(0);
    let redis = TestRedis::new();
    answer(
        &db,
        "CREATE TABLE answer (v INT); INSERT INTO answer VALUES (7)",
    );
    let mut child = started(daemon(&db, &redis, "SELECT * FROM answer"), &redis);
    child.expect_output("subscribed to the refresh channel", SOON);
    let addr = metrics_addr(&child);
    for (good, case) in (10u64..).zip(&odd_answers(&db)) {
        odd_answer_keeps_the_last_good_count(&db, &redis, &mut child, addr, good, case);
    }
    // And the next good answer is published again: no odd answer turned the query off.
    answer(
        &db,
        "CREATE TABLE answer (v INT); INSERT INTO answer VALUES (42)",
    );
    assert!(
        wait_until(SOON, || players(&redis) == Some(42)),
        "{:?}\n{}",
        document(&redis),
        child.output()
    );
}

/// A refresher per `(query, reason)`, each waited on until its preflight logged (at ERROR)
/// that the query cannot work because of `reason`, and until it wrote a document all the
/// same: the refresher runs on without players.
fn refused_at_start_up(db: &TestDb, cases: &[(&str, &str)]) -> Vec<(TestRedis, Child)> {
    let runs: Vec<(TestRedis, Child)> = cases
        .iter()
        .map(|(query, _)| {
            let redis = TestRedis::new();
            let child = Child::spawn(daemon(db, &redis, query));
            (redis, child)
        })
        .collect();
    for ((query, reason), (redis, child)) in cases.iter().zip(&runs) {
        let named = || {
            child.output().lines().any(|l| {
                l.contains("ERROR")
                    && l.contains("STATUS_PLAYERS_QUERY cannot work")
                    && l.contains(reason)
            })
        };
        assert!(
            wait_until(SOON, named),
            "{query}: the preflight did not name {reason:?}:\n{}",
            child.output()
        );
        expect_document(child, redis, SOON);
    }
    runs
}

#[test]
fn a_query_that_cannot_work_is_named_at_start_up_and_the_refresher_runs_without_players() {
    let db = game_db(3);
    let cases = [
        (
            "SELECT COUNT(*) FROM players_online",
            "no such table, error 1146",
        ),
        (
            "SELEC COUNT(*) FROM characters WHERE online = 1",
            "syntax error, error 1064",
        ),
        (
            "SELECT COUNT(*) FROM characters WHERE logged_in = 1",
            "no such column, error 1054",
        ),
    ];
    let mut runs = refused_at_start_up(&db, &cases);
    // The missing table appears: the query stays off until a restart, so a nudged refresh
    // publishes no count and runs no query.
    db.exec("CREATE TABLE players_online (id INT)");
    for ((query, _), (redis, child)) in cases.iter().zip(&runs) {
        let addr = metrics_addr(child);
        let before = current(redis).updated_at;
        child.expect_output("subscribed to the refresh channel", SOON);
        assert_eq!(publish(redis), 1);
        assert!(
            wait_until(SOON, || current(redis).updated_at > before),
            "{query}: no refresh:\n{}",
            child.output()
        );
        let d = current(redis);
        assert_eq!((d.players, d.players_at), (None, None), "{query}: {d:?}");
        assert_eq!(
            d.max_players,
            Some(500),
            "{query}: the constant still counts"
        );
        assert_eq!(
            sample(addr, "status_refresher_players_query_failures_total"),
            1.0,
            "{query}: only the preflight ran it:\n{}",
            child.output()
        );
        // The one failure logged is the preflight's own run.
        assert_eq!(
            child.output().matches("players query failed").count(),
            1,
            "{query}:\n{}",
            child.output()
        );
    }
    for ((query, _), (_, child)) in cases.iter().zip(runs.iter_mut()) {
        assert!(child.exited().is_none(), "{query}:\n{}", child.output());
    }
}

#[test]
fn the_query_runs_read_only_even_as_a_user_who_may_write() {
    // The tests connect as root: every grant there is.
    let db = game_db(3);
    db.exec("CREATE TABLE writes (at INT)");
    db.exec(
        "CREATE FUNCTION bump() RETURNS INT MODIFIES SQL DATA \
         BEGIN INSERT INTO writes VALUES (1); UPDATE characters SET online = 0; RETURN 5; END",
    );
    let cases = [
        "UPDATE characters SET online = 0",
        "SELECT bump()",
        "DELETE FROM characters",
    ];
    let writes = "the statement writes, which a read-only transaction refuses";
    let runs = refused_at_start_up(&db, &cases.map(|query| (query, writes)));
    for (query, (redis, _)) in cases.iter().zip(&runs) {
        assert_eq!(current(redis).players, None, "{query}");
    }
    let count = |sql: &str| db.query(sql)[0][0].clone();
    assert_eq!(count("SELECT COUNT(*) FROM writes").as_deref(), Some("0"));
    assert_eq!(
        count("SELECT COUNT(*) FROM characters WHERE online = 1").as_deref(),
        Some("3")
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM characters").as_deref(),
        Some("5")
    );
}

/// A restart with a query that cannot work publishes no players at all: not the count the
/// previous run left in the document, which nothing would ever update again.
#[test]
fn a_restart_with_a_broken_query_does_not_carry_on_the_old_count() {
    let db = game_db(3);
    let redis = TestRedis::new();
    let mut first = started(daemon(&db, &redis, ONLINE), &redis);
    assert!(
        wait_until(SOON, || players(&redis) == Some(3)),
        "{:?}\n{}",
        document(&redis),
        first.output()
    );
    assert!(
        first.stop(Duration::from_secs(10)).is_some(),
        "{}",
        first.output()
    );
    let stopped = unix_now();

    let broken = "SELECT COUNT(*) FROM characters WHERE logged_in = 1";
    let second = Child::spawn(daemon(&db, &redis, broken));
    second.expect_output("STATUS_PLAYERS_QUERY cannot work", SOON);
    assert!(
        wait_until(SOON, || current(&redis).updated_at > stopped),
        "no document from the second run:\n{}",
        second.output()
    );
    let d = current(&redis);
    assert_eq!(
        (d.players, d.players_at),
        (None, None),
        "{d:?}\n{}",
        second.output()
    );
    assert_eq!(d.max_players, Some(500));
}
