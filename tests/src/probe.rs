//! Looking at a running refresher from outside: the health and metrics address it logged,
//! `GET` on it, Prometheus samples, and how many `SELECT`s it ran on a test database.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::binaries::Child;
use crate::db::TestDb;

/// The health and metrics address a running refresher logged.
pub fn metrics_addr(child: &Child) -> SocketAddr {
    const MARK: &str = "listening on http://";
    assert!(
        child.wait_for_output(MARK, crate::wait::SETTLE),
        "no listener line:\n{}",
        child.output()
    );
    let out = child.output();
    let at = out.find(MARK).unwrap() + MARK.len();
    let addr: String = out[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    addr.parse()
        .unwrap_or_else(|_| panic!("bad address {addr:?}"))
}

/// `GET path` over a fresh connection: (status code, body).
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read response");
    let code = raw
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not HTTP: {raw:?}"));
    let body = raw.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    (code, body)
}

/// One sample's value from a Prometheus exposition (`name{labels}` exactly as written).
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
}

/// `GET /health`: the code and the JSON body.
pub fn health(addr: SocketAddr) -> (u16, serde_json::Value) {
    let (code, body) = http_get(addr, "/health");
    let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    (code, json)
}

/// Polls `GET /health` until `accept(code, body)` holds or `limit` passes, and returns the
/// last answer: for assertions on state the refresher records after the fact (a refresh is
/// in Redis a moment before `/health` counts it).
pub fn health_when(
    addr: SocketAddr,
    limit: Duration,
    accept: impl Fn(u16, &serde_json::Value) -> bool,
) -> (u16, serde_json::Value) {
    let mut last = health(addr);
    crate::wait::wait_until(limit, || {
        last = health(addr);
        accept(last.0, &last.1)
    });
    last
}

/// Polls one `/metrics` sample until `accept(value)` holds or `limit` passes, and returns
/// the last value (a nudge is counted when the refresher has read it off the channel, a
/// moment after `PUBLISH` returned).
pub fn sample_when(
    addr: SocketAddr,
    series: &str,
    limit: Duration,
    accept: impl Fn(f64) -> bool,
) -> f64 {
    let mut last = metric(&http_get(addr, "/metrics").1, series);
    crate::wait::wait_until(limit, || {
        last = metric(&http_get(addr, "/metrics").1, series);
        accept(last)
    });
    last
}

/// Full scans of this database's `constants` table so far, from MariaDB's per-table
/// statistics (`userstat`, switched on here). Each refresh is one full scan of a table of
/// `rows` rows, so scans = SELECTs, counted per database: parallel tests do not disturb
/// each other.
pub fn scans(db: &TestDb, rows: u64) -> u64 {
    db.exec("SET GLOBAL userstat = 1");
    let read = db.query(&format!(
        "SELECT COALESCE(SUM(ROWS_READ), 0) FROM information_schema.TABLE_STATISTICS \
         WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = 'constants'",
        db.name()
    ));
    let read: u64 = read[0][0].as_deref().unwrap_or("0").parse().unwrap();
    read / rows
}
