//! State-change notifications: Discord, Telegram and signed webhooks.
//!
//! The refresh cycle tells a [`crate::published::Feed`] (beside both) what it
//! published ([`hold::Observed`], after every successful write); the
//! [`deliver::Notifier`], a task of its own on the writer, turns that into messages:
//!
//! - [`hold`]: flap control (a state must hold for `STATUS_NOTIFY_HOLD`) and the hour's
//!   limit (`STATUS_NOTIFY_MAX_PER_HOUR`, then one summary);
//! - [`message`]: the words, in English or Russian;
//! - [`discord`], [`telegram`], [`webhook`]: each API's request;
//! - [`send`]: one POST and what its answer means (delivered, retry, rejected);
//! - [`deliver`]: the rounds — load the outbox ([`crate::write::outbox`]), queue what is
//!   due, send what is pending, save — and `notify-test`.
//!
//! Only the lease holder sends: the outbox's save checks the lease, and a replica that
//! lost it stops.

pub mod deliver;
pub mod discord;
pub mod hold;
pub mod message;
pub mod send;
pub mod telegram;
pub mod webhook;
