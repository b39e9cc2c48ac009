//! `status-refresher refresh-now [--wait]`: ask the running refresher for a refresh.
//!
//! It publishes one message on the refresh channel — what an admin panel does with
//! `redis-cli PUBLISH server:status:refresh now` — and reports how many refreshers heard it
//! (the lease holder is the only subscriber). With `--wait` it first notes the document's
//! `updated_at`, then polls the document until that moves and prints the new values, so a
//! game master can see the change is live. It needs only `PUBLISH` on the channel (and
//! `GET` on the document for `--wait`): the publisher ACL user in README has exactly that.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client};
use status_document::DocumentView;
use tokio::time::{Instant, timeout};

use crate::replicas::subscription::NUDGE_MESSAGE;

/// How often `--wait` looks at the document.
const POLL_EVERY: Duration = Duration::from_millis(100);

/// What `refresh-now` does.
#[derive(Debug, Clone)]
pub struct RefreshNow {
    pub client: Client,
    pub status_key: String,
    pub channel: String,
    /// Bound on connecting and each call.
    pub timeout: Duration,
    /// Wait this long for the document to move (`None`: do not wait).
    pub wait: Option<Duration>,
}

/// How it went.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Published; `receivers` refreshers heard it (not waiting).
    Published { receivers: i64 },
    /// The document moved: its new values, as one printable line.
    Refreshed { line: String },
}

#[derive(Debug, thiserror::Error)]
pub enum RefreshNowError {
    #[error("redis {step} timed out after {after:?}")]
    Timeout { step: &'static str, after: Duration },
    /// Only the kind and code: redis' messages are not promised to omit the URL.
    #[error("redis {step} failed: {detail}")]
    Redis { step: &'static str, detail: String },
    #[error(
        "no refresher is subscribed to {channel} (is one running, holding the lease, with \
         the same STATUS_KEY / STATUS_REFRESH_CHANNEL?)"
    )]
    NobodyListening { channel: String },
    #[error("the document did not change within {0:?} (see the refresher's log)")]
    NotRefreshed(Duration),
}

async fn call<T>(
    limit: Duration,
    step: &'static str,
    fut: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, RefreshNowError> {
    match timeout(limit, fut).await {
        Err(_) => Err(RefreshNowError::Timeout { step, after: limit }),
        Ok(Err(e)) => Err(RefreshNowError::Redis {
            step,
            detail: match e.code() {
                Some(code) => format!("{:?} error ({code})", e.kind()),
                None => format!("{:?} error", e.kind()),
            },
        }),
        Ok(Ok(v)) => Ok(v),
    }
}

/// `updated_at` of the stored document, if there is a valid one.
async fn updated_at(
    conn: &mut MultiplexedConnection,
    key: &str,
    limit: Duration,
) -> Result<Option<(f64, String)>, RefreshNowError> {
    let raw: Option<Vec<u8>> =
        call(limit, "GET", redis::cmd("GET").arg(key).query_async(conn)).await?;
    Ok(raw.and_then(|bytes| {
        let view = DocumentView::parse(&bytes).ok()?;
        Some((view.updated_at, describe(&view)))
    }))
}

/// The values a game master checks, on one line (`constants=none` from a refresher without
/// a database).
pub fn describe(view: &DocumentView<'_>) -> String {
    let constants = match (view.server_status, view.rates, view.client_status) {
        (Some(status), Some(r), Some(client)) => format!(
            "server_status={status} rates.exp={} rates.pvp={} rates.pve={} rates.color_mob={} \
             rates.skill={} client_status={client}",
            r.exp, r.pvp, r.pve, r.color_mob, r.skill
        ),
        _ => "constants=none".to_owned(),
    };
    format!("updated_at={:.3} {constants}", view.updated_at)
}

/// Publishes the nudge and, with `wait`, waits for the document to move.
pub async fn run(req: &RefreshNow) -> Result<Outcome, RefreshNowError> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(req.timeout))
        .set_response_timeout(Some(req.timeout));
    let mut conn = call(
        req.timeout,
        "connect",
        req.client
            .get_multiplexed_async_connection_with_config(&config),
    )
    .await?;
    let before = match req.wait {
        Some(_) => updated_at(&mut conn, &req.status_key, req.timeout).await?,
        None => None,
    };
    let receivers: i64 = call(
        req.timeout,
        "PUBLISH",
        redis::cmd("PUBLISH")
            .arg(&req.channel)
            .arg(NUDGE_MESSAGE)
            .query_async(&mut conn),
    )
    .await?;
    if receivers == 0 {
        return Err(RefreshNowError::NobodyListening {
            channel: req.channel.clone(),
        });
    }
    let Some(limit) = req.wait else {
        return Ok(Outcome::Published { receivers });
    };
    let deadline = Instant::now() + limit;
    let before = before.map(|(t, _)| t);
    while Instant::now() < deadline {
        tokio::time::sleep(POLL_EVERY).await;
        if let Some((now, line)) = updated_at(&mut conn, &req.status_key, req.timeout).await?
            && before.is_none_or(|b| now > b)
        {
            return Ok(Outcome::Refreshed { line });
        }
    }
    Err(RefreshNowError::NotRefreshed(limit))
}
