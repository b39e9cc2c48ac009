//! What the refresher meets in the table: a user granted exactly SELECT on `constants`,
//! a hundred thousand rows, huge and hostile descriptions, Latin-1, case-twin names.

use integration_tests::binaries::run;
use integration_tests::db::{Columns, TestDb, constant};
use integration_tests::redis::TestRedis;
use status_document::DocumentView;

use super::{ONCE_LIMIT, command, stored};

/// A MySQL user that exists for the life of this value.
struct TestUser {
    db: TestDb,
    user: String,
    password: String,
}

impl Drop for TestUser {
    fn drop(&mut self) {
        self.db
            .exec(&format!("DROP USER IF EXISTS '{}'@'%'", self.user));
    }
}

#[test]
fn runs_under_exactly_grant_select_on_constants() {
    let db = TestDb::with_constants("DOUBLE", &[constant("RateExp", 6.0, Some("six"))]);
    db.exec("CREATE TABLE secrets (x INT)");
    let user = TestUser {
        user: format!("ss_u_{:012x}", fastrand::u64(..) >> 16),
        password: format!("Pw-{:016x}", fastrand::u64(..)),
        db,
    };
    let (u, pw, name) = (&user.user, &user.password, user.db.name());
    user.db
        .exec(&format!("CREATE USER '{u}'@'%' IDENTIFIED BY '{pw}'"));
    user.db.exec(&format!(
        "GRANT SELECT ON `{name}`.`constants` TO '{u}'@'%'"
    ));
    let grants = user.db.query(&format!("SHOW GRANTS FOR '{u}'@'%'"));
    assert_eq!(grants.len(), 2, "{grants:?}");
    assert!(
        grants[1][0]
            .as_deref()
            .unwrap()
            .starts_with(&format!("GRANT SELECT ON `{name}`.`constants` TO")),
        "{grants:?}"
    );

    let redis = TestRedis::new();
    let (host, port) = user.db.host_port();
    let url = format!("mysql://{u}:{pw}@{host}:{port}/{name}");
    let mut cmd = command(&url, &redis.url(), &redis);
    cmd.arg("--once");
    let (status, out) = run(cmd, ONCE_LIMIT);
    assert_eq!(status.code(), Some(0), "{out}");
    assert!(!out.contains(pw.as_str()), "password leaked:\n{out}");
    assert_eq!(stored(&redis).unwrap().rates.unwrap().exp, 6.0);
}

/// Runs `--once` against `db` with extra env, returning (exit code, output).
fn once_with(db: &TestDb, redis: &TestRedis, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = command(&db.url(), &redis.url(), redis);
    cmd.arg("--once");
    for (k, v) in env {
        cmd.env(k, v);
    }
    // Bounded by ONCE_LIMIT (the process is killed then, and the exit code is None), not by a
    // tighter wall-clock guess that only a quiet machine would meet.
    let (status, out) = run(cmd, ONCE_LIMIT);
    (status.code(), out)
}

#[test]
fn hundred_thousand_constants_are_refused_whole_or_published_mapped() {
    let db = TestDb::new();
    db.create_constants("DOUBLE");
    db.exec(
        "INSERT INTO constants SELECT CONCAT('Const', seq), seq, CONCAT('about ', seq) \
         FROM seq_1_to_100000",
    );
    db.insert("RateExp", 9.0, Some("exp"));
    let redis = TestRedis::new();
    let (code, out) = once_with(&db, &redis, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("over the 262144-byte bound"), "{out}");
    assert!(
        out.contains("STATUS_META=mapped"),
        "the error says what to do:\n{out}"
    );
    assert_eq!(redis.get(&redis.status_key()), None, "nothing written");

    let (code, out) = once_with(&db, &redis, &[("STATUS_META", "mapped")]);
    assert_eq!(code, Some(0), "{out}");
    let raw = redis.get(&redis.status_key()).unwrap();
    let view = DocumentView::parse(&raw).unwrap();
    assert_eq!(view.rates.unwrap().exp, 9.0);
    assert!(out.contains("rows=100001"), "{out}");
}

/// [`once_with`] without extra settings, which must succeed; its output.
fn once_ok(db: &TestDb, redis: &TestRedis) -> String {
    let (code, out) = once_with(db, redis, &[]);
    assert_eq!(code, Some(0), "{out}");
    out
}

/// A `DOUBLE`-valued constants table whose `Description` column is `description`.
fn described_as(description: &'static str) -> TestDb {
    TestDb::with_table(Columns {
        description,
        ..Columns::value("DOUBLE")
    })
}

#[test]
fn huge_description_and_control_characters() {
    let db = described_as("MEDIUMTEXT");
    db.exec("INSERT INTO constants VALUES ('Big', 1, REPEAT('x', 1048576))");
    db.exec(
        "INSERT INTO constants VALUES \
         (CONCAT('Ctl', CHAR(9), CHAR(27)), 2, \
          CONCAT('a', CHAR(0), CHAR(1), CHAR(27), '[31m\"\\\\', CHAR(10), CHAR(13), \
                 _utf8mb4 0xE280A8, 'z'))",
    );
    db.insert("RateExp", 5.0, Some("ok"));
    let redis = TestRedis::new();
    let out = once_ok(&db, &redis);
    assert!(out.contains("description of \"Big\" cut"), "{out}");
    let raw = redis.get(&redis.status_key()).unwrap();
    assert!(raw.len() < 256 * 1024);
    DocumentView::parse(&raw).expect("a valid document");
    let doc = stored(&redis).unwrap();
    assert_eq!(doc.rates.unwrap().exp, 5.0);
    assert!(doc.meta["Big"].len() < 100_000);
    assert_eq!(
        doc.meta["Ctl\t\u{1b}"], "a\u{0}\u{1}\u{1b}[31m\"\\\n\r\u{2028}z",
        "control characters round-trip exactly (escaped in JSON)"
    );
    assert!(
        !raw.iter().any(|b| *b < 0x20),
        "no raw control bytes in the stored JSON"
    );
}

#[test]
fn latin1_and_invalid_utf8_descriptions() {
    let db = described_as("VARCHAR(255) CHARACTER SET latin1");
    // Raw latin1 bytes: "café" and bytes that are not UTF-8 on their own.
    db.exec("INSERT INTO constants VALUES ('RateExp', 2, UNHEX('636166E9'))");
    db.exec("INSERT INTO constants VALUES ('Odd', 1, UNHEX('FF80E9'))");
    let redis = TestRedis::new();
    once_ok(&db, &redis);
    // The server converts latin1 to the connection's utf8mb4: valid text arrives.
    let doc = stored(&redis).unwrap();
    assert_eq!(doc.meta["RateExp"], "café");
    assert_eq!(doc.meta["Odd"].chars().count(), 3);

    // The same bytes in a binary column reach the refresher unconverted: replaced, and
    // reported by name.
    db.exec("ALTER TABLE constants MODIFY Description VARBINARY(255) NULL");
    let out = once_ok(&db, &redis);
    assert!(
        out.contains("Description of constant \"Odd\" is not valid UTF-8"),
        "{out}"
    );
    let raw = redis.get(&redis.status_key()).unwrap();
    DocumentView::parse(&raw).expect("valid document");
    let doc = stored(&redis).unwrap();
    assert_eq!(doc.meta["RateExp"], "caf\u{fffd}");
    assert!(doc.meta["Odd"].contains('\u{fffd}'));
}

#[test]
fn duplicate_names_differing_only_by_case() {
    let db = TestDb::with_table(Columns {
        name: "VARCHAR(64) COLLATE utf8mb4_bin",
        ..Columns::value("DOUBLE")
    });
    db.exec(
        "INSERT INTO constants VALUES ('RateExp', 2, 'first'), ('rateexp', 3, 'lower'), \
         ('RATEEXP', 4, 'upper'), ('RateExp', 5, 'again')",
    );
    let redis = TestRedis::new();
    let out = once_ok(&db, &redis);
    assert!(out.contains("\"RateExp\" appears more than once"), "{out}");
    let doc = stored(&redis).unwrap();
    // Names are case-sensitive, as the table's binary collation says; the mapping takes
    // the exact name, first row wins.
    assert_eq!(doc.rates.unwrap().exp, 2.0);
    assert_eq!(doc.meta.len(), 3);
    assert_eq!(doc.meta["rateexp"], "lower");
    assert_eq!(doc.meta["RATEEXP"], "upper");
}
