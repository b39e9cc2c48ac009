//! The status refresher: keeps the game's `constants` table mirrored into one JSON status
//! document in Redis, for the public reader.
//!
//! The flow is [`source`] (MySQL) -> [`status_document::build`] -> [`sink`] (Redis), one
//! [`refresh`] cycle at a time, scheduled by [`daemon`] with the delays from [`schedule`].
//! The binary (`main.rs`) only parses [`config`], sets up logging and the runtime.
//!
//! Reliability pieces: [`lease`] lets two replicas share the job with one writer (its calls
//! and the sink's all go through [`redis_call::bounded`]), and [`metrics`], the one record
//! of outcomes, is what [`listener`] serves as `/health` and `/metrics`.
//!
//! Live changes: [`nudge`] turns requests for an early refresh into at most one refresh per
//! `STATUS_MIN_REFRESH_GAP`; they come from the Redis channel ([`subscription`]) and, when
//! `STATUS_WATCH` asks for it, from the binary log or a change probe ([`watch`]).

pub mod clock;
pub mod config;
pub mod daemon;
pub mod db_tls;
pub mod lease;
pub mod listener;
pub mod metrics;
pub mod nudge;
pub mod redact;
pub mod redis_call;
pub mod refresh;
pub mod refresh_now;
pub mod schedule;
pub mod shutdown;
pub mod sink;
pub mod source;
pub mod sources;
pub mod subscription;
pub mod tls;
pub mod watch;
