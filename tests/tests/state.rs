//! The typed state through the real refresher binary, real MariaDB and real Redis:
//! odd `ServerStatus` cells (missing, NULL, text, a number the mapping does not name, and
//! every spelling of a number the refresher accepts) become the state `STATUS_STATES` says,
//! with the defaulted constants listed; the message and end-of-maintenance constants are
//! published when configured; a bad setting is refused with its name.
//!
//! One database per column type: each case empties the table, inserts its cells and runs
//! `--once`, so the ~30 cases cost a handful of databases instead of thirty.

use std::process::Command;
use std::time::Duration;

use integration_tests::binaries::{refresher_for, run};
use integration_tests::db::{Constant, SqlValue, TestDb, constant};
use integration_tests::redis::TestRedis;
use status_document::{State, StatusDocument};

/// Bound on a `--once` run (its calls time out after STATUS_TIMEOUT = 3 s each).
const ONCE_LIMIT: Duration = Duration::from_secs(30);

/// One database, one set of Redis keys, and the extra settings every run gets.
struct Table {
    db: TestDb,
    redis: TestRedis,
    env: Vec<(&'static str, &'static str)>,
}

impl Table {
    fn new(value_type: &str) -> Table {
        let db = TestDb::new();
        db.create_constants(value_type);
        Table {
            db,
            redis: TestRedis::new(),
            env: Vec::new(),
        }
    }

    fn with_env(mut self, name: &'static str, value: &'static str) -> Table {
        self.env.push((name, value));
        self
    }

    fn command(&self) -> Command {
        let mut cmd = refresher_for(&self.db.url(), &self.redis.url(), &self.redis);
        cmd.env("STATUS_TIMEOUT", "3").arg("--once");
        for (name, value) in &self.env {
            cmd.env(name, value);
        }
        cmd
    }

    /// Replaces the table's rows with `ServerStatus` = `value` (no row for `None`) plus a
    /// rate, refreshes once and returns the stored document and the refresher's output.
    fn refresh_with(&self, value: Option<SqlValue>) -> (StatusDocument, String) {
        self.refresh_with_rows(value, &[])
    }

    /// [`Table::refresh_with`] with `extra` rows in the table too.
    fn refresh_with_rows(
        &self,
        value: Option<SqlValue>,
        extra: &[Constant],
    ) -> (StatusDocument, String) {
        self.db.exec("DELETE FROM constants");
        let mut rows = vec![constant("RateExp", "2", None)];
        rows.extend_from_slice(extra);
        if let Some(value) = value {
            rows.push(constant("ServerStatus", value, Some("status")));
        }
        self.db.insert_constants(&rows);
        let (status, output) = run(self.command(), ONCE_LIMIT);
        assert_eq!(status.code(), Some(0), "refresher failed:\n{output}");
        let raw = self
            .redis
            .get(&self.redis.status_key())
            .expect("no document under the status key");
        let doc = serde_json::from_slice(&raw).unwrap_or_else(|e| {
            panic!(
                "not a status document ({e}): {}",
                String::from_utf8_lossy(&raw)
            )
        });
        (doc, output)
    }

    /// Checks that `value` gives `state`, and whether ServerStatus is listed as defaulted.
    fn expect(&self, value: Option<SqlValue>, state: State, defaulted: bool) -> String {
        let shown = format!("{value:?}");
        let (doc, output) = self.refresh_with(value);
        assert_eq!(doc.state, state, "ServerStatus {shown}:\n{output}");
        assert_eq!(
            doc.defaulted.iter().any(|d| d == "ServerStatus"),
            defaulted,
            "ServerStatus {shown}: defaulted {:?}",
            doc.defaulted
        );
        assert_eq!(
            doc.rates.unwrap().exp,
            2.0,
            "the other fields are unaffected"
        );
        if defaulted {
            // Unchanged for today's website code: the old default still stands in.
            assert_eq!(doc.server_status, Some(1.0), "ServerStatus {shown}");
        }
        output
    }
}

fn text(s: &str) -> Option<SqlValue> {
    Some(SqlValue::from(s))
}

#[test]
fn unusable_status_is_unknown_and_listed_as_defaulted() {
    let t = Table::new("VARCHAR(64)");
    t.expect(None, State::Unknown, true);
    t.expect(Some(SqlValue::NULL), State::Unknown, true);
    for word in [
        "включен",
        "online",
        "",
        "  ",
        "1 2",
        "inf",
        "NaN",
        "0x1",
        "1,0",
    ] {
        let output = t.expect(text(word), State::Unknown, true);
        assert!(
            output.contains("WARN") && output.contains("\"ServerStatus\""),
            "{word:?}: no warning naming the constant:\n{output}"
        );
    }
}

#[test]
fn unmapped_numbers_are_unknown_with_a_warning() {
    let t = Table::new("VARCHAR(64)");
    for number in ["2", "-1", "0.5", "1.0001", "1e3"] {
        let output = t.expect(text(number), State::Unknown, false);
        assert!(
            output.contains("not in STATUS_STATES (1:online,0:offline)"),
            "{number}:\n{output}"
        );
    }
}

#[test]
fn every_spelling_of_one_and_zero() {
    let t = Table::new("VARCHAR(64)");
    for one in [
        "1", " 1 ", "1.0", "1.000", "+1", "1e0", "1E0", "10e-1", "0.1e1", "01",
    ] {
        t.expect(text(one), State::Online, false);
    }
    for zero in ["0", "-0", "0.0", "+0", "0e5", "-0.00", "00"] {
        t.expect(text(zero), State::Offline, false);
    }
    // Typed columns deliver the number in other shapes (binary INT, DOUBLE, DECIMAL text).
    let int = Table::new("INT");
    int.expect(Some(SqlValue::from(1i64)), State::Online, false);
    int.expect(Some(SqlValue::from(0i64)), State::Offline, false);
    let double = Table::new("DOUBLE");
    double.expect(Some(SqlValue::from(1.0f64)), State::Online, false);
    double.expect(Some(SqlValue::from(0.0f64)), State::Offline, false);
    double.expect(Some(SqlValue::from(2.0f64)), State::Unknown, false);
    let decimal = Table::new("DECIMAL(10,2)");
    decimal.expect(text("1"), State::Online, false);
    decimal.expect(text("0"), State::Offline, false);
}

#[test]
fn operator_mapping_and_notice_constants() {
    let t = Table::new("VARCHAR(255)")
        .with_env(
            "STATUS_STATES",
            "1:online, 0:offline, 2:maintenance, 3:offline",
        )
        .with_env("STATUS_MESSAGE_CONSTANT", "MaintenanceMessage")
        .with_env("STATUS_MAINTENANCE_UNTIL_CONSTANT", "MaintenanceUntil");
    t.expect(text("2"), State::Maintenance, false);
    t.expect(text("2.0"), State::Maintenance, false);
    t.expect(text("3"), State::Offline, false);
    t.expect(text("1"), State::Online, false);
    let output = t.expect(text("4"), State::Unknown, false);
    assert!(
        output.contains("not in STATUS_STATES (1:online,0:offline,2:maintenance,3:offline)"),
        "{output}"
    );
    t.expect(None, State::Unknown, true);

    // With the notice constants in the table.
    let (doc, _) = t.refresh_with_rows(
        text("2"),
        &[
            constant("MaintenanceMessage", " Back at 18:00 ", None),
            constant("MaintenanceUntil", "1764172800", None),
        ],
    );
    assert_eq!(doc.state, State::Maintenance);
    assert_eq!(doc.message.as_deref(), Some("Back at 18:00"));
    assert_eq!(doc.maintenance_until, Some(1_764_172_800.0));

    // An empty mapping names nothing: even 1 is unknown, never online.
    let empty = Table::new("INT").with_env("STATUS_STATES", "");
    empty.expect(Some(SqlValue::from(1i64)), State::Unknown, false);
}

#[test]
fn without_notice_settings_nothing_is_published() {
    let t = Table::new("VARCHAR(64)");
    let (doc, _) = t.refresh_with_rows(
        text("1"),
        &[
            constant("MaintenanceMessage", "hello", None),
            constant("MaintenanceUntil", "1764172800", None),
        ],
    );
    let raw = t.redis.get(&t.redis.status_key()).expect("document");
    let v: serde_json::Value = serde_json::from_slice(&raw).expect("JSON");
    assert_eq!(doc.message, None);
    assert!(
        v.get("message").is_none() && v.get("maintenance_until").is_none(),
        "{v}"
    );
    assert_eq!(v["state"], "online");
}

#[test]
fn bad_state_settings_are_refused_by_name() {
    let t = Table::new("INT");
    for (name, value, says) in [
        ("STATUS_STATES", "1:up", "\"up\""),
        ("STATUS_STATES", "one:online", "\"one\" is not a number"),
        ("STATUS_STATES", "1:online,1.0:offline", "mapped twice"),
        (
            "STATUS_MESSAGE_CONSTANT",
            "Motd\u{1b}",
            "control characters",
        ),
    ] {
        let mut cmd = t.command();
        cmd.env(name, value);
        let (status, output) = run(cmd, ONCE_LIMIT);
        assert_eq!(status.code(), Some(2), "{name}={value:?}:\n{output}");
        assert!(
            output.contains(&format!("invalid {name}")) && output.contains(says),
            "{name}={value:?}:\n{output}"
        );
        assert!(
            t.redis.get(&t.redis.status_key()).is_none(),
            "nothing written"
        );
    }
}
