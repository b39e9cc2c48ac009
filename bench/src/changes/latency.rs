//! One mode's "change to visible" run: commit a new `RateExp`, poll the reader until it
//! serves it, pause, repeat.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::statements::Counts;
use super::{Lane, Mode};
use crate::kv::Kv;
use crate::mysql::Admin;
use crate::process;
use crate::targets;

/// How often the reader is asked while a change is awaited: the resolution of the
/// measurement (a request to the reader takes a few milliseconds on top).
const POLL: Duration = Duration::from_millis(5);

/// What one mode's changes showed.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Commit → the first response serving the new value, for each change that showed.
    pub latencies: Vec<Duration>,
    /// Changes that did not show within the mode's bound.
    pub failures: u32,
    /// Nudges no refresher heard (`PUBLISH` returned 0): the nudge mode was not subscribed.
    pub unheard: u32,
    /// The mode's statements while its changes ran, and how many seconds that took (set by
    /// the caller, which reads the general log around the run).
    pub during: Option<(Counts, f64)>,
}

/// `changes` changes of `RateExp` through `lane`'s refresher and the reader at `addr`.
/// `index` keeps the lanes' values apart, so no lane can mistake another's value for its own.
pub async fn run(
    lane: &Lane,
    index: usize,
    admin: &mut Admin,
    kv: &mut Kv,
    addr: SocketAddr,
    changes: u32,
) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::default();
    let bound = lane.mode.bound();
    for i in 0..changes {
        // Exactly representable, so the served value compares equal to what was written.
        let value = 10.5 + (index as f64) * 1000.0 + f64::from(i);
        admin
            .exec(&format!(
                "UPDATE `{}`.constants SET Value = '{value}' WHERE Name = 'RateExp'",
                lane.ctx.database
            ))
            .await?;
        // The UPDATE runs in autocommit: once it returned, it is committed.
        let committed = Instant::now();
        if lane.mode == Mode::Nudge && kv.publish(&lane.channel(), "now").await? == 0 {
            outcome.unheard += 1;
        }
        match visible(addr, value, committed, bound).await? {
            Some(latency) => {
                eprintln!(
                    "bench:   change {}: {:.0} ms",
                    i + 1,
                    latency.as_secs_f64() * 1e3
                );
                outcome.latencies.push(latency);
            }
            None => {
                eprintln!("bench:   change {}: not served within {bound:?}", i + 1);
                outcome.failures += 1;
            }
        }
        if i + 1 < changes {
            tokio::time::sleep(lane.mode.pause()).await;
        }
    }
    Ok(outcome)
}

/// Polls `GET /server/status` on `addr` until it serves `rates.exp == value`: the time from
/// `committed` to that response, or `None` once `bound` has passed.
async fn visible(
    addr: SocketAddr,
    value: f64,
    committed: Instant,
    bound: Duration,
) -> anyhow::Result<Option<Duration>> {
    process::poll_until(addr, targets::PATH, committed, bound, POLL, |json| {
        json["rates"]["exp"].as_f64() == Some(value)
    })
    .await
}
