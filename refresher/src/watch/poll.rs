//! `STATUS_WATCH=poll:<seconds>`: for servers without binlog access, a change probe every
//! few seconds that nudges only when the table changed.
//!
//! The probe is `CHECKSUM TABLE constants`: one statement, answered with one short row,
//! whatever the table's size, needing only the `SELECT` grant the refresher already has. The
//! server still reads every row to compute it; what the probe saves is the rest of a
//! refresh (sending the rows, building the document, writing Redis). The numbers, and the
//! cheaper candidates that were measured and rejected (`information_schema.TABLES`'
//! `UPDATE_TIME` has a one-second granularity and is lost at a server restart, so a second
//! change within the same second goes unseen), are in README "Live changes".
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

use crate::nudge::{Nudger, Reconnect, SourceState};

/// The probe.
pub const PROBE: &str = "CHECKSUM TABLE constants";

/// What the probe returned: the checksum, or `None` (the table does not exist, which is a
/// state too: its appearance is a change).
pub type Checksum = Option<i64>;

/// What the poller needs.
#[derive(Debug, Clone)]
pub struct PollWatch {
    pub opts: Opts,
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
        let error = match timeout(watch.timeout, Conn::new(watch.opts.clone())).await {
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
