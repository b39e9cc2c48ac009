//! `STATUS_WATCH`: how the refresher notices that the `constants` table changed, besides
//! the periodic refresh (which stays, in every mode, as the safety net).
//!
//! - `interval` (the default): it does not; changes show at the next refresh or nudge.
//! - `binlog`: it follows the server's binary log as a replica client and nudges when a row
//!   event touches this database's `constants` table ([`binlog`]). No polling: an idle
//!   database costs nothing but an idle connection.
//! - `poll:<seconds>`: for servers without binlog access, a cheap change probe every few
//!   seconds ([`poll`]) that nudges only when the table's checksum moved.
//!
//! A watcher only nudges (see [`crate::replicas::nudge`]): the refresh it asks for is coalesced with
//! every other, so even a table rewritten a thousand times a second costs at most one
//! `SELECT` per `STATUS_MIN_REFRESH_GAP`. Like the subscription, a watcher runs on the lease
//! holder only. The mode itself is a setting, [`crate::config::Watch`].

pub mod binlog;
pub mod poll;
