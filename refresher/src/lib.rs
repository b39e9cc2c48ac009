//! The status refresher: keeps the game's `constants` table mirrored into one JSON status
//! document in Redis, for the public reader.
//!
//! The flow is [`read::db`] (MySQL) -> [`status_document::build`] -> [`write::document`]
//! (Redis), one [`refresh`] cycle at a time, scheduled by [`daemon`] with the delays from
//! [`schedule`]. The binary (`main.rs`) only parses [`config`], sets up [`logging`] and the
//! runtime; on Windows, `service` runs the same daemon under the Service Control Manager.
//!
//! Reliability pieces: [`replicas::lease`] lets two replicas share the job with one writer
//! (its calls and the document writer's all go through [`redis_call::bounded`], on the
//! primary [`replicas::target`] names: `REDIS_URL`'s, or Sentinel's across failovers), and
//! [`report::metrics`], the one record of outcomes, is what [`report::listener`] serves as
//! `/health` and `/metrics`.
//!
//! Live changes: [`replicas::nudge`] turns requests for an early refresh into at most one
//! refresh per `STATUS_MIN_REFRESH_GAP`; they come from the Redis channel
//! ([`replicas::subscription`]) and, when `STATUS_WATCH` asks for it, from the binary log or
//! a change probe ([`read::watch`]).
//!
//! Notifications: [`notify`] tells Discord, Telegram and webhooks when the
//! published state changes and holds, through the outbox of [`write::outbox`].

mod clock;
pub mod config;
pub mod daemon;
pub mod logging;
mod published;
mod redact;
mod redis_call;
mod refresh;
pub mod refresh_now;
mod schedule;
#[cfg(windows)]
pub mod service;
mod shutdown;
mod sources;
mod tls;

// By concern: what it reads, what it writes, how replicas agree, how it reports.
pub mod notify;
mod read;
pub mod replicas;
mod report;
pub mod write;

pub use redis_call::note_tls;
