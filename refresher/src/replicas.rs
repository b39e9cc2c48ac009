//! How replicas agree on one writer, and how the writer learns that it should refresh early.
//!
//! [`lease`] makes one refresher the holder; [`target`] names the Redis primary they all
//! talk to (`REDIS_URL`'s, or Sentinel's across failovers). Only the holder runs the nudge
//! sources ([`crate::sources`]: the [`subscription`] to the refresh channel, and the
//! watchers of [`crate::read::watch`]), and [`nudge`] coalesces what they ask for into at
//! most one refresh per `STATUS_MIN_REFRESH_GAP`.

pub mod guard;
pub(crate) mod lease;
pub(crate) mod nudge;
pub(crate) mod subscription;
pub mod target;
