//! What the live-change tests share: a refresher set up to be nudged, `PUBLISH`
//! on its refresh channel, the document it stored, and a Prometheus sample from it.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use status_document::StatusDocument;

use crate::binaries::{Child, refresher_for};
use crate::db::{TestDb, constant};
use crate::probe::{http_get, metric, sample_when};
use crate::redis::TestRedis;
use crate::unix_now;
use crate::wait::{SETTLE, wait_until};

/// Rows [`seed`] puts in `constants`.
pub const ROWS: u64 = 2;

/// `constants` with `RateExp` = 1 and `ServerStatus` = 1 (values `DOUBLE`).
pub fn seed(db: &TestDb) {
    db.create_constants("DOUBLE");
    db.insert_constants(&[
        constant("RateExp", 1.0, None),
        constant("ServerStatus", 1.0, None),
    ]);
}

/// A new database of its own, [`seed`]ed.
pub fn seeded() -> TestDb {
    let db = TestDb::new();
    seed(&db);
    db
}

/// `UPDATE constants SET Value = <value> WHERE Name = 'RateExp'` (committed on return).
pub fn set_exp(db: &TestDb, value: f64) {
    db.exec(&format!(
        "UPDATE constants SET Value = {value} WHERE Name = 'RateExp'"
    ));
}

/// The bound from a nudge (or a commit, when watching) to the new document.
pub const WITHIN: Duration = Duration::from_secs(1);
/// `STATUS_MIN_REFRESH_GAP`'s default: a nudge sooner than this after a refresh waits.
pub const GAP: Duration = Duration::from_secs(2);

/// A daemon on `database_url` with a long interval (so every refresh seen is a nudged one),
/// a free metrics port and this test's keys; the channel is the default
/// `<STATUS_KEY>:refresh`.
pub fn daemon(database_url: &str, redis: &TestRedis) -> Command {
    let mut cmd = refresher_for(database_url, &redis.url(), redis);
    cmd.env("STATUS_UPDATE_INTERVAL", "600")
        .env("STATUS_METRICS_ADDR", "127.0.0.1:0")
        .env("STATUS_TIMEOUT", "1");
    cmd
}

/// The refresh channel of this test's status key.
pub fn channel(redis: &TestRedis) -> String {
    status_document::keys::refresh_channel(&redis.status_key())
}

/// `PUBLISH <channel> now`: how many subscribers heard it.
pub fn publish(redis: &TestRedis) -> i64 {
    ::redis::cmd("PUBLISH")
        .arg(channel(redis))
        .arg("now")
        .query(&mut redis.conn())
        .expect("PUBLISH")
}

/// The document stored under this test's status key.
pub fn document(redis: &TestRedis) -> Option<StatusDocument> {
    redis
        .get(&redis.status_key())
        .map(|raw| serde_json::from_slice(&raw).expect("stored value is not a document"))
}

/// `rates.exp` of the stored document.
pub fn exp(redis: &TestRedis) -> Option<f64> {
    document(redis).map(|d| d.rates.unwrap().exp)
}

/// Starts `cmd` and waits until it is subscribed and has written its first document.
pub fn subscribed(cmd: Command, redis: &TestRedis) -> Child {
    let child = Child::spawn(cmd);
    child.expect_output("subscribed to the refresh channel", SETTLE);
    expect_document(&child, redis, SETTLE);
    child
}

/// Panics, with `child`'s output, unless a document is stored within `limit`.
#[track_caller]
pub fn expect_document(child: &Child, redis: &TestRedis, limit: Duration) {
    assert!(
        wait_until(limit, || document(redis).is_some()),
        "no document within {limit:?}:\n{}",
        child.output()
    );
}

/// Waits until the refresher at `addr` has recorded a successful refresh, then until
/// [`GAP`] has passed since that refresh by its own clock (`last_success_timestamp`, stamped
/// after the write), so that the next nudge is answered at once rather than held for the
/// rest of the gap. Measured from the refresh itself, not from when the test got round to
/// looking: a loaded machine can put seconds between the two, in either direction.
pub fn past_the_gap(addr: SocketAddr) {
    let series = "status_refresher_last_success_timestamp_seconds";
    let last = sample_when(addr, series, SETTLE, |t| t > 0.0);
    assert!(last > 0.0, "no successful refresh recorded at {addr}");
    // 50 ms of slack for the wall clock's resolution between the two processes.
    let left = last + GAP.as_secs_f64() + 0.05 - unix_now();
    if left > 0.0 {
        std::thread::sleep(Duration::from_secs_f64(left));
    }
}

/// One sample from the refresher's `/metrics`.
pub fn sample(addr: SocketAddr, series: &str) -> f64 {
    metric(&http_get(addr, "/metrics").1, series)
}
