//! What the refresher reads: the `constants` table ([`db`], with the TLS fallback of
//! [`db_tls`]), the players online ([`players`], the operator's query on the same
//! connection), the game server itself ([`probe`], a TCP connect) and, when `STATUS_WATCH`
//! asks for it, the signs that the table changed ([`watch`]).
//!
//! Everything here only reads: it never writes to MySQL, and what it learns reaches Redis
//! through [`crate::write`] and the refresh cycle.

pub(crate) mod db;
pub(crate) mod db_error;
pub(crate) mod db_tls;
pub(crate) mod players;
pub(crate) mod probe;
pub(crate) mod watch;
