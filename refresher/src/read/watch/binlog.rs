//! `STATUS_WATCH=binlog`: follow the server's binary log and nudge when a row event touches
//! this database's `constants` table.
//!
//! The refresher connects as a replica client (`COM_REGISTER_SLAVE` + `COM_BINLOG_DUMP`, via
//! mysql_async's binlog stream) from the position the server reports at start
//! (`SHOW MASTER STATUS`): only changes from then on matter, the start-up refresh read the
//! rest. It needs `binlog_format=ROW` (statement events name no rows) and the global
//! privileges `REPLICATION SLAVE` (the dump) and `REPLICATION CLIENT` (the position; MariaDB
//! calls it `BINLOG MONITOR`). [`check`] verifies all three before anything else and names
//! every one that is missing; without them the watcher reports
//! [`SourceState::Unavailable`] and the refresher keeps refreshing on the interval.
//!
//! What counts as a change ([`Follower`]): a rows event (insert, update, delete) whose table
//! map names `<database>.constants`; a rows event for a table id never mapped in this
//! stream (possible only right after a reconnect; better one refresh too many than a
//! missed change); and a statement event in this database naming `constants` (DDL such as
//! `TRUNCATE`, or a session that switched to statement logging). Events of other tables
//! cost nothing: no query, no nudge.
//!
//! The nudge is sent once the transaction's commit event arrives, plus [`SETTLE`]: MariaDB
//! hands a transaction to replica clients as soon as it is in the binary log, a moment
//! before InnoDB makes it visible to other sessions, and a `SELECT` in that moment would
//! read the old row.
//!
//! A lost stream (server restart, network cut, or silence past three heartbeats: the server
//! is asked for a heartbeat every [`HEARTBEAT`] while idle) reconnects with backoff from
//! the last commit position it saw, so nothing committed meanwhile is missed; binlog
//! rotation is followed through the rotate events. If that position no longer exists (the
//! file was purged meanwhile) it starts again from the current one and nudges once.
//!
//! The parts: [`preflight`] (what the server and user must allow), [`events`] (an event
//! reduced to what matters here), [`follower`] (the position and the transaction under way)
//! and [`stream`] (one dump connection until it ends); [`run`] ties them together and
//! reconnects.

use std::time::Duration;

use mysql_async::{Conn, Opts};
use tokio::sync::watch;
use tokio::time::timeout;
use tracing::error;

use crate::replicas::nudge::{Nudger, Reconnect, SourceState};

pub mod events;
pub mod follower;
pub mod preflight;
mod stream;

pub use events::{Seen, classify};
pub use follower::{Follower, Position};
pub use preflight::{CheckError, check, describe};
use stream::Ended;

/// How often the server sends a heartbeat on an idle stream.
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// Silence after which the stream counts as dead.
pub const SILENCE_LIMIT: Duration = Duration::from_secs(15);
/// Wait between a commit event and its nudge (see the module docs).
pub const SETTLE: Duration = Duration::from_millis(100);
/// Longest wait between reconnect attempts.
pub const RECONNECT_CAP: Duration = Duration::from_secs(30);
/// The table watched.
pub const TABLE: &str = "constants";

/// What the watcher needs.
#[derive(Debug, Clone)]
pub struct BinlogWatch {
    /// The refresher's database options (the same user; no pool is made).
    pub opts: Opts,
    /// `DB_SSL_MODE=preferred`'s plaintext options (see [`crate::read::db_tls`]).
    pub fallback: Option<Opts>,
    /// Bound on connecting and on each check.
    pub timeout: Duration,
}

/// Follows the binary log until the task is aborted, or until [`check`] finds the server or
/// user unusable (then it reports [`SourceState::Unavailable`] and returns).
pub async fn run(watch: BinlogWatch, nudger: Nudger, state: watch::Sender<SourceState>) {
    let schema = watch.opts.db_name().unwrap_or_default().to_owned();
    let mut reconnect = Reconnect::new(RECONNECT_CAP);
    let mut follower: Option<Follower> = None;
    loop {
        state.send_replace(SourceState::Connecting);
        let ended = match connect(&watch).await {
            Err(e) => Ended::Failed(e),
            Ok(mut conn) => {
                let resume = match &follower {
                    Some(f) => Ok(f.position.clone()),
                    None => check(&mut conn, watch.timeout).await,
                };
                match resume {
                    Err(CheckError::Unusable(gaps)) => {
                        let reason = describe(&gaps);
                        error!("{reason}; refreshing on the interval (and on nudges) only");
                        state.send_replace(SourceState::Unavailable { reason });
                        let _ = conn.disconnect().await;
                        return;
                    }
                    Err(CheckError::Unreachable(e)) => Ended::Failed(e),
                    Ok(position) => {
                        let f = follower.get_or_insert_with(|| Follower::new(&schema, position));
                        f.restart();
                        stream::follow(conn, f, &nudger, &state, &mut reconnect).await
                    }
                }
            }
        };
        if let Ended::PositionGone(_) = ended {
            // Start again from the server's current position; a change may have been missed.
            follower = None;
            nudger.nudge();
        }
        reconnect
            .lost("binlog stream", ended.to_string(), &state)
            .await;
    }
}

async fn connect(watch: &BinlogWatch) -> Result<Conn, String> {
    match timeout(
        watch.timeout,
        crate::read::db_tls::connect(&watch.opts, watch.fallback.as_ref()),
    )
    .await
    {
        Err(_) => Err(format!("connecting timed out after {:?}", watch.timeout)),
        Ok(Err(e)) => Err(e.to_string()),
        Ok(Ok(c)) => Ok(c),
    }
}
