//! The status refresher: keeps the game's `constants` table mirrored into one JSON status
//! document in Redis, for the public reader.
//!
//! The flow is [`source`] (MySQL) -> [`status_document::build`] -> [`sink`] (Redis), one
//! [`refresh`] cycle at a time, scheduled by [`daemon`] with the delays from [`schedule`].
//! The binary (`main.rs`) only parses [`config`], sets up [`logging`] and the runtime; on
//! Windows, `service` runs the same daemon under the Service Control Manager.
//!
//! Reliability pieces: [`lease`] lets two replicas share the job with one writer (its calls
//! and the sink's all go through [`redis_call::bounded`], on the primary [`redis_target`]
//! names: `REDIS_URL`'s, or Sentinel's across failovers), and [`metrics`], the one record
//! of outcomes, is what [`listener`] serves as `/health` and `/metrics`.
//!
//! Live changes: [`nudge`] turns requests for an early refresh into at most one refresh per
//! `STATUS_MIN_REFRESH_GAP`; they come from the Redis channel ([`subscription`]) and, when
//! `STATUS_WATCH` asks for it, from the binary log or a change probe ([`watch`]).

mod clock;
pub mod config;
pub mod daemon;
mod db_tls;
mod lease;
mod listener;
pub mod logging;
mod metrics;
mod nudge;
mod redact;
mod redis_call;
pub mod redis_target;
mod refresh;
pub mod refresh_now;
mod schedule;
#[cfg(windows)]
pub mod service;
mod shutdown;
pub mod sink;
mod source;
mod sources;
mod subscription;
mod tls;
mod watch;

pub use redis_call::note_tls;
