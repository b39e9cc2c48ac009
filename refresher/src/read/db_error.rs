//! What can go wrong reading the database, apart from the reading itself.
//!
//! The `constants` read ([`crate::read::db`]) and the players query
//! ([`crate::read::players`]) share one connection and so one set of failures; keeping the
//! error beside them rather than inside `db.rs` lets the players query stand on its own
//! (it takes a connection, it does not make one).

use std::time::Duration;

/// Most rows read before giving up. The document builder refuses an oversized document
/// anyway; this bound only keeps memory finite when the table is absurd.
pub const MAX_ROWS: usize = 1_000_000;

/// Why a read of the database failed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("database {step} timed out after {after:?}")]
    Timeout { step: &'static str, after: Duration },
    #[error("the `{0}` table does not exist")]
    MissingTable(String),
    #[error("the constants table has more than {MAX_ROWS} rows")]
    TooManyRows,
    /// A TLS failure, described with the setting to fix ([`crate::read::db_tls::describe`]).
    #[error("{0}")]
    Tls(String),
    #[error("database error: {0}")]
    Mysql(#[from] mysql_async::Error),
}
