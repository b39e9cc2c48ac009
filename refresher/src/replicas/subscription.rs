//! The refresh channel: the lease holder `SUBSCRIBE`s to `<STATUS_KEY>:refresh` (or
//! `STATUS_REFRESH_CHANNEL`) and turns every message into a nudge (see [`crate::replicas::nudge`]).
//!
//! The subscription is a dedicated RESP2 pub/sub connection (a subscribed connection can run
//! nothing else), separate from the pooled one that writes the document. It is kept alive by
//! [`run`], which never returns: it connects, subscribes, and then waits for messages while
//! sending a `PING` every [`PING_EVERY`] — a Redis that restarted closes the socket, but one
//! behind a dead network path says nothing, and only an unanswered `PING` tells. Whenever the
//! connection is lost it reports [`SourceState::Down`] and resubscribes with backoff (the
//! same jittered backoff as refreshes, capped at [`RESUBSCRIBE_CAP`]), so nudges work again
//! by themselves after a Redis restart. While it is down the periodic refresh still runs:
//! a dead subscription makes changes slower to show, never lost.
//!
//! Who runs it: only the lease holder (the daemon starts it on acquiring the lease and aborts
//! it on losing it), so a standby never acts on a nudge.

use std::time::Duration;

use futures_util::StreamExt;
use redis::Value;
use tokio::sync::watch;
use tokio::time::timeout;
use tracing::info;

use crate::replicas::nudge::{Nudger, Reconnect, SourceState};
use crate::replicas::target::Primary;

/// How often an idle subscription checks that Redis still answers.
pub const PING_EVERY: Duration = Duration::from_secs(5);
/// Longest wait between resubscribe attempts.
pub const RESUBSCRIBE_CAP: Duration = Duration::from_secs(10);

/// The message `refresh-now` (and the documented `redis-cli PUBLISH`) sends. Any payload
/// works; the refresher ignores it.
pub const NUDGE_MESSAGE: &str = "now";

/// Where and how to subscribe.
#[derive(Clone)]
pub struct Subscription {
    /// The document's Redis: each subscription is opened on the primary named then
    /// (behind Sentinel, the one after a failover).
    pub primary: Primary,
    pub channel: String,
    /// Bound on connecting, subscribing and each `PING`.
    pub timeout: Duration,
}

/// Why one subscription ended.
#[derive(Debug, thiserror::Error)]
enum Lost {
    #[error("connecting timed out after {0:?}")]
    ConnectTimeout(Duration),
    #[error("SUBSCRIBE timed out after {0:?}")]
    SubscribeTimeout(Duration),
    #[error("PING unanswered after {0:?}")]
    PingTimeout(Duration),
    #[error("the connection closed")]
    Closed,
    /// No primary to subscribe on (no Sentinel named one).
    #[error("{0}")]
    NoPrimary(String),
    /// Only the error's kind and code: redis' messages are not promised to omit the URL.
    #[error("{0}")]
    Redis(String),
}

fn redis_error(e: &redis::RedisError) -> Lost {
    let detail = match e.code() {
        Some(code) => format!("{:?} error ({code})", e.kind()),
        None => format!("{:?} error", e.kind()),
    };
    Lost::Redis(detail)
}

/// Keeps the subscription up until the task is aborted, nudging on every message and
/// reporting its state.
pub async fn run(sub: Subscription, nudger: Nudger, state: watch::Sender<SourceState>) {
    let mut reconnect = Reconnect::new(RESUBSCRIBE_CAP);
    loop {
        state.send_replace(SourceState::Connecting);
        let error = subscribed(&sub, &nudger, &state, &mut reconnect).await;
        let what = format!("subscription to the refresh channel {}", sub.channel);
        reconnect.lost(&what, error.to_string(), &state).await;
    }
}

/// One subscription, from connecting until it is lost.
async fn subscribed(
    sub: &Subscription,
    nudger: &Nudger,
    state: &watch::Sender<SourceState>,
    reconnect: &mut Reconnect,
) -> Lost {
    let client = match sub.primary.client().await {
        Ok(client) => client,
        Err(e) => return Lost::NoPrimary(e.to_string()),
    };
    let pubsub = match timeout(sub.timeout, client.get_async_pubsub()).await {
        Err(_) => return Lost::ConnectTimeout(sub.timeout),
        Ok(Err(e)) => return redis_error(&e),
        Ok(Ok(p)) => p,
    };
    let (mut sink, mut stream) = pubsub.split();
    match timeout(sub.timeout, sink.subscribe(&sub.channel)).await {
        Err(_) => return Lost::SubscribeTimeout(sub.timeout),
        Ok(Err(e)) => return redis_error(&e),
        Ok(Ok(())) => {}
    }
    reconnect.succeeded();
    info!(channel = %sub.channel, "subscribed to the refresh channel");
    state.send_replace(SourceState::Up);
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ping.tick().await; // the first tick is immediate
    loop {
        tokio::select! {
            message = stream.next() => match message {
                Some(_) => nudger.nudge(),
                None => return Lost::Closed,
            },
            _ = ping.tick() => {
                match timeout(sub.timeout, sink.ping::<Value>()).await {
                    Err(_) => return Lost::PingTimeout(sub.timeout),
                    Ok(Err(e)) => return redis_error(&e),
                    Ok(Ok(_)) => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_no_url() {
        let e = redis::RedisError::from((redis::ErrorKind::AuthenticationFailed, "bad"));
        let text = redis_error(&e).to_string();
        assert!(text.contains("AuthenticationFailed"), "{text}");
    }
}
