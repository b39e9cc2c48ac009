//! `STATUS_WATCH=poll:<seconds>`: for servers without binlog access, a change probe every
//! few seconds that nudges only when the table changed.
//!
//! The probe is `CHECKSUM TABLE constants`: one statement, answered with one short row,
//! needing only the `SELECT` grant the refresher already has. The server still reads every
//! row to compute it; what the probe saves is the rest of a refresh (sending the rows,
//! building the document, writing Redis). Measured on MariaDB 10.11 (the shared 2-core test
//! VM, load average 2.5, client on the same host), wall time per statement at concurrency 1:
//!
//! | statement | 42 rows (the demo table) | 10,000 rows |
//! |---|--:|--:|
//! | `CHECKSUM TABLE constants` (the probe) | 0.04 ms | 2.7 ms |
//! | `SELECT UPDATE_TIME FROM information_schema.TABLES …` | 0.14 ms | 0.13 ms |
//! | `SELECT COUNT(*), BIT_XOR(CRC32(CONCAT_WS(…)))` | 0.12 ms | 3.2 ms |
//! | `SELECT Name, Value, Description FROM constants` (a refresh) | 0.16 ms | 6.5 ms |
//!
//! (`mariadb-slap -h127.0.0.1 -uroot --create-schema=<db> --no-drop --query="<statement>"
//! --number-of-queries=2000 --concurrency=1 --iterations=3`, 200 queries for 10,000 rows;
//! the average run divided by the queries.) `UPDATE_TIME` is cheaper only on big tables and
//! is rejected anyway: it has a one-second granularity (two `UPDATE`s in the same second
//! leave the same value, so a probe between them misses the second — checked on 10.11),
//! and by the servers' manuals InnoDB keeps it in memory only (`NULL` after a restart or
//! once the table leaves the dictionary cache), and MySQL before 5.7.2 does not maintain it
//! for InnoDB at all. On a game's `constants` table (tens of rows) the checksum is the
//! cheapest of the four anyway.
//!
//! The first probe after start only records the checksum: the refresh at start-up or
//! takeover read the table already. The checksum is kept across reconnects, so a change made
//! while the probe could not run is seen by the first probe after. The probe runs on its own
//! connection, so it never waits for the refresh's pooled one.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, Row};
use tokio::sync::watch;
use tokio::time::timeout;
use tracing::{debug, info};

use crate::replicas::nudge::{Nudger, Reconnect, SourceState};

/// The probe.
pub const PROBE: &str = "CHECKSUM TABLE constants";

/// What the probe returned: the checksum, or `None` (the table does not exist, which is a
/// state too: its appearance is a change).
pub type Checksum = Option<i64>;

/// What the poller needs.
#[derive(Debug, Clone)]
pub struct PollWatch {
    pub opts: Opts,
    /// `DB_SSL_MODE=preferred`'s plaintext options (see [`crate::read::db_tls`]).
    pub fallback: Option<Opts>,
    pub every: Duration,
    /// Bound on connecting and on each probe.
    pub timeout: Duration,
}

/// Runs one probe on `conn`.
pub async fn probe(conn: &mut Conn) -> Result<Checksum, mysql_async::Error> {
    let row: Option<Row> = conn.query_first(PROBE).await?;
    Ok(row.and_then(|mut r| r.take_opt::<Option<i64>, usize>(1)?.ok().flatten()))
}

/// Whether a probe result means the table changed, given the one before (`None`: no
/// earlier probe on this connection).
pub fn changed(before: Option<Checksum>, now: Checksum) -> bool {
    before.is_some_and(|b| b != now)
}

/// Probes every `every` until the task is aborted, nudging on each change.
pub async fn run(watch: PollWatch, nudger: Nudger, state: watch::Sender<SourceState>) {
    // Retry at most one period apart: a probe that cannot run is a probe missed.
    let mut reconnect = Reconnect::new(watch.every.max(Duration::from_secs(1)));
    let mut last: Option<Checksum> = None;
    loop {
        state.send_replace(SourceState::Connecting);
        let error = match timeout(
            watch.timeout,
            crate::read::db_tls::connect(&watch.opts, watch.fallback.as_ref()),
        )
        .await
        {
            Err(_) => format!("connecting timed out after {:?}", watch.timeout),
            Ok(Err(e)) => e.to_string(),
            Ok(Ok(conn)) => poll(conn, &watch, &nudger, &state, &mut reconnect, &mut last).await,
        };
        reconnect.lost("change probe", error, &state).await;
    }
}

/// Probes on one connection until a probe fails; returns the error.
async fn poll(
    mut conn: Conn,
    watch: &PollWatch,
    nudger: &Nudger,
    state: &watch::Sender<SourceState>,
    reconnect: &mut Reconnect,
    last: &mut Option<Checksum>,
) -> String {
    let mut announced = false;
    let mut tick = tokio::time::interval(watch.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = match timeout(watch.timeout, probe(&mut conn)).await {
            Err(_) => return format!("{PROBE} timed out after {:?}", watch.timeout),
            Ok(Err(e)) => return e.to_string(),
            Ok(Ok(now)) => now,
        };
        if !announced {
            announced = true;
            reconnect.succeeded();
            info!(
                every_s = watch.every.as_secs_f64(),
                "probing `constants` for changes"
            );
            state.send_replace(SourceState::Up);
        }
        if changed(*last, now) {
            debug!("`constants` changed");
            nudger.nudge();
        }
        *last = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_difference_from_an_earlier_probe_is_a_change() {
        assert!(!changed(None, Some(1)), "the first probe is a baseline");
        assert!(!changed(Some(Some(1)), Some(1)));
        assert!(changed(Some(Some(1)), Some(2)));
        assert!(changed(Some(None), Some(2)), "the table appeared");
        assert!(changed(Some(Some(2)), None), "the table went away");
    }
}
