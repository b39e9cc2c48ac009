//! Each type a `Value` column can have (DOUBLE, INT, DECIMAL, VARCHAR numbers and text, NULL)
//! mapped into the document, and text in any script round-tripped.

use integration_tests::db::{SqlValue, TestDb, constant};
use integration_tests::redis::TestRedis;
use status_document::Field;

use super::{document, meta, once_ok};

/// The seven mapped constants, with values of the Rust type that suits `value_type`.
fn full_table(values: [SqlValue; 7]) -> Vec<integration_tests::db::Constant> {
    let mut rows: Vec<_> = Field::ALL
        .map(Field::default_constant)
        .into_iter()
        .zip(values)
        .map(|(name, value)| constant(name, value, Some(&format!("about {name}"))))
        .collect();
    rows.push(constant("MaxPlayers", SqlValue::NULL, None));
    rows
}

/// Fills a `constants` table whose Value column is `value_type`, refreshes once, and checks
/// every field against `expected` (server_status, exp, pvp, pve, color_mob, skill, client).
fn check_column_type(value_type: &str, values: [SqlValue; 7], expected: [f64; 7]) {
    let db = TestDb::with_constants(value_type, &full_table(values));
    let redis = TestRedis::new();
    once_ok(&db, &redis);
    let d = document(&redis);
    let rates = d.rates.expect("rates");
    let got = [
        d.server_status.expect("server_status"),
        rates.exp,
        rates.pvp,
        rates.pve,
        rates.color_mob,
        rates.skill,
        d.client_status.expect("client_status"),
    ];
    assert_eq!(got, expected, "{value_type}");
    assert!(d.defaulted.is_empty(), "{value_type}: {:?}", d.defaulted);
    assert_eq!(d.schema_version, 1);
    assert_eq!(d.meta.len(), 8);
    assert_eq!(d.meta["RateExp"], "about RateExp");
    assert_eq!(
        d.meta["MaxPlayers"], "",
        "NULL description is published as empty"
    );
}

#[test]
fn double_column() {
    check_column_type(
        "DOUBLE",
        [1.0, 2.5, 3.0, 0.25, 1.75, 10.0, 512.0].map(SqlValue::from),
        [1.0, 2.5, 3.0, 0.25, 1.75, 10.0, 512.0],
    );
}

#[test]
fn int_column() {
    check_column_type(
        "INT",
        [0i64, 2, 3, 4, 5, -6, 512].map(SqlValue::from),
        [0.0, 2.0, 3.0, 4.0, 5.0, -6.0, 512.0],
    );
}

#[test]
fn decimal_column() {
    check_column_type(
        "DECIMAL(10,2)",
        ["1", "2.50", "3.25", "0.10", "1.75", "100", "512"].map(SqlValue::from),
        [1.0, 2.5, 3.25, 0.1, 1.75, 100.0, 512.0],
    );
}

#[test]
fn varchar_number_column() {
    check_column_type(
        "VARCHAR(64)",
        ["1", " 2.5 ", "3e0", "+4", "-0.5", "1e2", "512.000"].map(SqlValue::from),
        [1.0, 2.5, 3.0, 4.0, -0.5, 100.0, 512.0],
    );
}

#[test]
fn varchar_text_and_null_keep_defaults_and_say_so() {
    let db = TestDb::with_constants(
        "VARCHAR(64)",
        &[
            constant("ServerStatus", "включен", Some("Статус")),
            constant("RateExp", "fast", None),
            constant("RatePvp", None::<&str>, None),
            constant("RatePve", "", None),
            constant("RateColorMob", "2", None),
        ],
    );
    let redis = TestRedis::new();
    let output = once_ok(&db, &redis);
    let d = document(&redis);
    assert_eq!(d.server_status, Some(1.0));
    assert_eq!(d.rates.unwrap().exp, 1.0);
    assert_eq!(d.rates.unwrap().pvp, 1.0);
    assert_eq!(d.rates.unwrap().pve, 1.0);
    assert_eq!(
        d.rates.unwrap().color_mob,
        2.0,
        "the numeric row still counts"
    );
    assert_eq!(d.client_status, Some(256.0));
    // Every mapped constant but RateColorMob, in the document's order.
    let defaulted: Vec<&str> = Field::ALL
        .into_iter()
        .filter(|f| *f != Field::RateColorMob)
        .map(Field::default_constant)
        .collect();
    assert_eq!(d.defaulted, defaulted);
    // One warning per unusable value, naming the constant.
    for name in ["ServerStatus", "RateExp", "RatePvp", "RatePve"] {
        assert!(
            output
                .lines()
                .any(|l| l.contains("WARN") && l.contains(&format!("{name:?}"))),
            "no warning for {name}:\n{output}"
        );
    }
    assert!(!output.contains("\"RateColorMob\" (field"), "{output}");
}

#[test]
fn null_only_column() {
    let db = TestDb::with_constants(
        "DOUBLE",
        &[constant("ServerStatus", SqlValue::NULL, Some("s"))],
    );
    let redis = TestRedis::new();
    once_ok(&db, &redis);
    let d = document(&redis);
    assert_eq!(d.defaulted.len(), 7);
    assert_eq!((d.server_status, d.client_status), (Some(1.0), Some(256.0)));
    assert_eq!(d.meta, meta(&[("ServerStatus", "s")]));
}

#[test]
fn cyrillic_and_emoji_round_trip() {
    let texts = [
        ("ServerStatus", "Статус сервера: включён ✅"),
        ("RateExp", "Рейт опыта 🐉🔥 ×2"),
        ("Привет", "emoji only: 👩‍💻🏳️‍🌈"),
        ("CJK", "服务器状态"),
    ];
    let rows: Vec<_> = texts
        .iter()
        .map(|(n, d)| constant(n, 1.0, Some(d)))
        .collect();
    let db = TestDb::with_constants("DOUBLE", &rows);
    let redis = TestRedis::new();
    once_ok(&db, &redis);
    assert_eq!(document(&redis).meta, meta(&texts));
    let raw = redis.get_string(&redis.status_key()).expect("document");
    assert!(
        raw.contains("Рейт опыта 🐉🔥 ×2"),
        "stored as UTF-8, not escaped: {raw}"
    );
}
