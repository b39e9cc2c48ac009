//! The status refresher: keeps the game's `constants` table mirrored into one JSON status
//! document in Redis, for the public reader.
//!
//! The flow is [`source`] (MySQL) -> [`status_document::build`] -> [`sink`] (Redis), one
//! [`refresh`] cycle at a time, scheduled by [`daemon`] with the delays from [`schedule`].
//! The binary (`main.rs`) only parses [`config`], sets up logging and the runtime.
//!
//! Reliability pieces: [`lease`] lets two replicas share the job with one writer, and
//! [`metrics`] and [`listener`] serve `/health` and `/metrics`.

pub mod config;
pub mod daemon;
pub mod lease;
pub mod listener;
pub mod metrics;
pub mod redact;
pub mod refresh;
pub mod schedule;
pub mod shutdown;
pub mod sink;
pub mod source;
