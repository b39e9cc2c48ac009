//! The source: the game's `constants` table in MySQL/MariaDB.
//!
//! One `SELECT Name, Value, Description FROM constants` per refresh over a pooled connection.
//! The text protocol is enough: every cell arrives as bytes (or NULL), and
//! [`status_document::RowValue`] knows how to read a number from bytes. Both calls (getting
//! a connection, running the query and streaming its rows) carry the configured timeout,
//! so a stalled server costs at most two timeouts, never a hung refresher.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts, Row, Value};
use status_document::{ConstantRow, RowValue};
use tokio::time::timeout;

use crate::config::{Database, DbTls};
use crate::read::db_error::MAX_ROWS;
use crate::read::db_tls;

pub use crate::read::db_error::SourceError;

/// The one query the refresher runs, on the default table.
pub const QUERY: &str = "SELECT Name, Value, Description FROM constants";

/// The query on `table` (a name the configuration checked: letters, digits, `_`).
pub fn query_for(table: &str) -> String {
    format!("SELECT Name, Value, Description FROM `{table}`")
}

/// Most connections the refresher keeps to the database: it runs one query at a time.
const POOL_MAX_CONNECTIONS: usize = 1;
/// Largest packet the client accepts (see [`with_pool_limits`]).
const MAX_PACKET_BYTES: usize = 64 * 1024 * 1024;
/// The server's default `wait_timeout`; the pool uses it to judge an idle connection dead.
const SERVER_WAIT_TIMEOUT_S: usize = 28_800;

/// MySQL's "table doesn't exist".
const ER_NO_SUCH_TABLE: u16 = 1146;

/// Something odd about a row that the builder cannot see (it only gets text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceWarning {
    #[error("{column} of constant {name:?} is not valid UTF-8; invalid bytes were replaced")]
    InvalidUtf8 { name: String, column: &'static str },
}

/// The rows of one read.
#[derive(Debug, Default)]
pub struct Rows {
    pub rows: Vec<ConstantRow>,
    pub warnings: Vec<SourceWarning>,
}

/// A pooled connection to the database.
pub struct Source {
    pool: Pool,
    /// `DB_SSL_MODE=preferred`: the plaintext options, until the server says it has no TLS.
    fallback: Option<Opts>,
    tls: DbTls,
    timeout: Duration,
    /// The table read, and the query that reads it.
    table: String,
    query: String,
}

impl Source {
    /// A source of `table`'s constants (a servers file may give each server its own).
    /// Creates the pool, tuned by [`with_pool_limits`]; no connection is opened until the
    /// first read.
    pub fn for_table(database: &Database, table: &str, timeout: Duration) -> Source {
        let query = match table {
            crate::config::DEFAULT_CONSTANTS_TABLE => QUERY.to_owned(),
            other => query_for(other),
        };
        Source {
            pool: Pool::new(with_pool_limits(database.opts.clone())),
            fallback: database.plaintext_fallback.clone(),
            tls: database.tls.clone(),
            timeout,
            table: table.to_owned(),
            query,
        }
    }

    /// Reads the whole `constants` table.
    pub async fn read(&mut self) -> Result<Rows, SourceError> {
        let mut conn = self.conn().await?;
        let query = async {
            let mut result = conn
                .query_iter(self.query.as_str())
                .await
                .map_err(|e| missing_table(e, &self.table))?;
            let mut out = Rows::default();
            while let Some(row) = result.next().await? {
                if out.rows.len() == MAX_ROWS {
                    return Err(SourceError::TooManyRows);
                }
                out.rows.push(convert(row, &mut out.warnings));
            }
            Ok(out)
        };
        timeout(self.timeout, query)
            .await
            .map_err(|_| SourceError::Timeout {
                step: "query",
                after: self.timeout,
            })?
    }

    /// A connection from the pool (the one kept between cycles), switching to plaintext once
    /// if `DB_SSL_MODE=preferred` meets a server without TLS.
    pub async fn conn(&mut self) -> Result<mysql_async::Conn, SourceError> {
        match self.connect().await {
            Err(SourceError::Mysql(e))
                if db_tls::server_has_no_tls(&e) && self.fallback.is_some() =>
            {
                // `preferred` and a server without TLS: plaintext from now on (see db_tls).
                tracing::warn!(
                    "the database server offers no TLS; DB_SSL_MODE=preferred continues in \
                     plaintext (set DB_SSL_MODE=disabled to say so, or required to refuse)"
                );
                if let Some(plain) = self.fallback.take() {
                    self.pool = Pool::new(with_pool_limits(plain));
                }
                self.connect().await
            }
            other => other,
        }
    }

    /// The configured timeout of every database call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    async fn connect(&self) -> Result<mysql_async::Conn, SourceError> {
        match timeout(self.timeout, self.pool.get_conn()).await {
            Err(_) => Err(SourceError::Timeout {
                step: "connect",
                after: self.timeout,
            }),
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) if self.fallback.is_none() || !db_tls::server_has_no_tls(&e) => {
                Err(match db_tls::describe(&e, &self.tls) {
                    Some(text) => SourceError::Tls(text),
                    None => SourceError::Mysql(e),
                })
            }
            Ok(Err(e)) => Err(SourceError::Mysql(e)),
        }
    }

    /// Closes pooled connections, waiting at most `within`.
    pub async fn close(self, within: Duration) {
        if let Ok(Err(e)) = timeout(within, self.pool.disconnect()).await {
            tracing::debug!(error = %e, "closing the database pool");
        }
    }
}

/// One query per cycle needs one connection, and it is kept between cycles (a pooled
/// connection, as the spec asks): the pool's minimum of one stops mysql_async from closing
/// it as idle, so a steady-state refresh costs exactly one statement, with no handshake or
/// session set-up queries. A connection the server dropped in the meantime fails that one
/// cycle, and the backoff retry opens a new one. The connection is not reset on return: the
/// refresher changes no session state, so a reset would be a wasted round-trip.
///
/// `max_allowed_packet` and `wait_timeout` are given, so a new connection does not spend a
/// query reading them from the server: every refresh, the first included, is exactly one
/// statement. The packet bound (64 MiB) also caps what one row may make the client buffer.
///
/// `prefer_socket` is off: by default mysql_async, having connected over TCP to a local
/// server, asks for `@@socket` and reconnects through the Unix socket. That costs queries,
/// and it would take the refresher around anything an operator put on the TCP path (a proxy,
/// a firewall rule, the fault proxy in the tests).
pub fn with_pool_limits(opts: Opts) -> Opts {
    let constraints = PoolConstraints::new(1, POOL_MAX_CONNECTIONS).unwrap_or_default();
    let pool = PoolOpts::default()
        .with_constraints(constraints)
        .with_reset_connection(false);
    OptsBuilder::from_opts(opts)
        .pool_opts(pool)
        .max_allowed_packet(Some(MAX_PACKET_BYTES))
        .wait_timeout(Some(SERVER_WAIT_TIMEOUT_S))
        .prefer_socket(false)
        .into()
}

fn missing_table(e: mysql_async::Error, table: &str) -> SourceError {
    match e {
        mysql_async::Error::Server(ref s) if s.code == ER_NO_SUCH_TABLE => {
            SourceError::MissingTable(table.to_owned())
        }
        e => SourceError::from(e),
    }
}

/// Turns one row into a [`ConstantRow`], noting text that was not UTF-8.
fn convert(mut row: Row, warnings: &mut Vec<SourceWarning>) -> ConstantRow {
    let mut take = |i: usize| row.take::<Value, usize>(i).unwrap_or(Value::NULL);
    let (name, value, description) = (take(0), take(1), take(2));
    let (name, name_ok) = text(name);
    let name = name.unwrap_or_default();
    if !name_ok {
        warnings.push(SourceWarning::InvalidUtf8 {
            name: name.clone(),
            column: "Name",
        });
    }
    let (description, description_ok) = text(description);
    if !description_ok {
        warnings.push(SourceWarning::InvalidUtf8 {
            name: name.clone(),
            column: "Description",
        });
    }
    ConstantRow {
        name,
        value: row_value(value),
        description,
    }
}

/// A text cell as a string (`None` for NULL); `false` if bytes had to be replaced.
fn text(value: Value) -> (Option<String>, bool) {
    match value {
        Value::NULL => (None, true),
        Value::Bytes(bytes) => match String::from_utf8(bytes) {
            Ok(s) => (Some(s), true),
            Err(e) => (
                Some(String::from_utf8_lossy(e.as_bytes()).into_owned()),
                false,
            ),
        },
        // A numeric or temporal column where text was expected: its SQL literal will do.
        other => (Some(other.as_sql(true)), true),
    }
}

fn row_value(value: Value) -> RowValue {
    match value {
        Value::NULL => RowValue::Null,
        Value::Bytes(bytes) => RowValue::Bytes(bytes),
        Value::Int(i) => RowValue::Int(i),
        Value::UInt(u) => RowValue::UInt(u),
        Value::Float(f) => RowValue::Float(f.into()),
        Value::Double(f) => RowValue::Float(f),
        // Dates and times are not numbers; as text they fail to parse and are reported.
        other => RowValue::Bytes(other.as_sql(true).into_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_kept_connection_and_no_socket_detour() {
        let opts = with_pool_limits(Opts::from_url("mysql://u@h:3306/game").unwrap());
        assert_eq!(opts.pool_opts().constraints().max(), 1);
        assert_eq!(opts.pool_opts().constraints().min(), 1);
        assert!(!opts.prefer_socket());
        assert_eq!(opts.db_name(), Some("game"));
    }

    #[test]
    fn values_map_to_row_values() {
        assert_eq!(row_value(Value::NULL), RowValue::Null);
        assert_eq!(row_value(Value::Int(-2)), RowValue::Int(-2));
        assert_eq!(row_value(Value::UInt(2)), RowValue::UInt(2));
        assert_eq!(row_value(Value::Float(1.5)), RowValue::Float(1.5));
        assert_eq!(row_value(Value::Double(2.5)), RowValue::Float(2.5));
        assert_eq!(
            row_value(Value::Bytes(b"2.50".to_vec())),
            RowValue::Bytes(b"2.50".to_vec())
        );
        let date = row_value(Value::Date(2024, 1, 2, 0, 0, 0, 0));
        assert!(date.to_number().is_err(), "{date:?}");
    }

    #[test]
    fn invalid_utf8_is_replaced_and_reported() {
        assert_eq!(text(Value::NULL), (None, true));
        assert_eq!(
            text(Value::Bytes("Рейт 🐉".as_bytes().to_vec())),
            (Some("Рейт 🐉".to_owned()), true)
        );
        // latin1 "café" read as raw bytes.
        let (s, ok) = text(Value::Bytes(b"caf\xe9".to_vec()));
        assert_eq!(s.as_deref(), Some("caf\u{fffd}"));
        assert!(!ok);
        assert_eq!(text(Value::Int(7)), (Some("7".to_owned()), true));
    }
}
