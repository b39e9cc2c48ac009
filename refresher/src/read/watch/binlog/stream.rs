//! One dump connection, from the request until it ends: events go through [`classify`]
//! and the [`Follower`]; a completed change to the table is nudged after [`SETTLE`].

use std::time::Duration;

use futures_util::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStreamRequest, Conn};
use tokio::sync::watch;
use tokio::time::{Instant, timeout};
use tracing::{info, warn};

use super::{Follower, HEARTBEAT, Position, SETTLE, SILENCE_LIMIT, classify};
use crate::replicas::nudge::{Nudger, Reconnect, SourceState};

/// "Could not find first log file name in binary log index file" and relatives.
const ER_MASTER_FATAL_ERROR_READING_BINLOG: u16 = 1236;

/// Why one stream ended.
#[derive(Debug, thiserror::Error)]
pub(super) enum Ended {
    #[error("{0}")]
    Failed(String),
    #[error("no event or heartbeat for {0:?}")]
    Silent(Duration),
    #[error("the server ended the stream")]
    Closed,
    #[error("the position {0} is gone from the server (purged?)")]
    PositionGone(Position),
}

/// One stream, from the dump request until it ends.
pub(super) async fn follow(
    mut conn: Conn,
    follower: &mut Follower,
    nudger: &Nudger,
    state: &watch::Sender<SourceState>,
    reconnect: &mut Reconnect,
) -> Ended {
    let heartbeat_ns = HEARTBEAT.as_nanos();
    if let Err(e) = conn
        .query_drop(format!("SET @master_heartbeat_period = {heartbeat_ns}"))
        .await
    {
        return Ended::Failed(e.to_string());
    }
    // A random replica id: a second client with the same id makes the server drop the first,
    // and real replicas use small ones.
    let server_id = fastrand::u32(1 << 30..);
    let start = follower.position.clone();
    let request = BinlogStreamRequest::new(server_id)
        .with_filename(start.file.as_bytes())
        .with_pos(start.pos);
    let mut events = match conn.get_binlog_stream(request).await {
        Ok(s) => s,
        Err(e) => return Ended::Failed(e.to_string()),
    };
    let mut announced = false;
    let mut nudge_at: Option<Instant> = None;
    let ended = loop {
        let settle = async {
            match nudge_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let next = tokio::select! {
            next = timeout(SILENCE_LIMIT, events.next()) => next,
            () = settle => {
                nudge_at = None;
                nudger.nudge();
                continue;
            }
        };
        let event = match next {
            Err(_) => break Ended::Silent(SILENCE_LIMIT),
            Ok(None) => break Ended::Closed,
            Ok(Some(Err(mysql_async::Error::Server(e))))
                if e.code == ER_MASTER_FATAL_ERROR_READING_BINLOG =>
            {
                warn!(position = %start, error = %e.message, "binlog position refused");
                break Ended::PositionGone(start);
            }
            Ok(Some(Err(e))) => break Ended::Failed(e.to_string()),
            Ok(Some(Ok(event))) => event,
        };
        if !announced {
            announced = true;
            reconnect.succeeded();
            info!(from = %follower.position, "following the binary log");
            state.send_replace(SourceState::Up);
        }
        if follower.observe(classify(&event)) && nudge_at.is_none() {
            nudge_at = Some(Instant::now() + SETTLE);
        }
    };
    // A change seen but not yet nudged (the stream ended within its settle time): the
    // position is past it, so the next stream will not see it again. Nudge now.
    if nudge_at.is_some() {
        nudger.nudge();
    }
    ended
}
