//! Players online: the operator's one SQL statement (`STATUS_PLAYERS_QUERY`), run safely.
//!
//! The query is the operator's, so it is treated as untrusted in everything but intent:
//! - it runs inside `START TRANSACTION READ ONLY` (and ends with `ROLLBACK`), so even a
//!   user with more grants than the documented SELECT-only one cannot change data through
//!   it;
//! - the server stops it after the time limit (MariaDB: `SET STATEMENT max_statement_time
//!   = … FOR`, MySQL: the session's `max_execution_time`), so a slow query does not keep
//!   scanning after the refresher gave up; the client gives up a second later anyway;
//! - its answer must be exactly one row with one column holding a whole number from 0 to
//!   [`MAX_PLAYERS`]. Anything else is a [`PlayersError`] that says what came back, and the
//!   document keeps the last good count with its time (`players_at`).
//!
//! [`PlayersError::permanent`] tells a query that can never work (a syntax error, a missing
//! table, column or grant) from one that failed this time: the start-up preflight turns the
//! feature off on the first kind, with the server's own words in the log.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};
use status_document::{MAX_PLAYERS, RowValue};
use tokio::time::timeout;

use crate::read::db_error::SourceError;

/// MariaDB: "Query execution was interrupted (max_statement_time exceeded)".
const ER_STATEMENT_TIMEOUT: u16 = 1969;
/// MySQL: "Query execution was interrupted, maximum statement execution time exceeded".
const ER_QUERY_TIMEOUT: u16 = 3024;
/// Server errors that no retry can fix: the statement itself, or what it names, is wrong.
const PERMANENT: &[(u16, &str)] = &[
    (1064, "syntax error"),
    (1146, "no such table"),
    (1054, "no such column"),
    (1049, "no such database"),
    (1142, "no SELECT grant on the table"),
    (1143, "no SELECT grant on a column"),
    (1044, "no access to the database"),
    (1305, "no such function"),
    (
        1792,
        "the statement writes, which a read-only transaction refuses",
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum PlayersError {
    #[error("cannot reach the database: {0}")]
    Connect(#[from] SourceError),
    #[error("the query ran longer than {0:?} and was stopped")]
    Timeout(Duration),
    #[error("the query returned no rows; expected one row with one number")]
    NoRows,
    #[error("the query returned more than one row; expected one row with one number")]
    SeveralRows,
    #[error("the query returned {0} columns; expected one")]
    Columns(usize),
    #[error("the query returned NULL; expected a number")]
    Null,
    #[error("the query returned {0}, which is negative")]
    Negative(String),
    #[error("the query returned {0}, which is not a whole number from 0 to {MAX_PLAYERS}")]
    NotACount(String),
    #[error("the database refused the query ({what}, error {code}): {message}")]
    Refused {
        code: u16,
        what: &'static str,
        message: String,
    },
    #[error("database error: {0}")]
    Mysql(mysql_async::Error),
}

impl PlayersError {
    /// A query that cannot work as written or granted; retrying would only repeat it.
    pub fn permanent(&self) -> bool {
        matches!(self, PlayersError::Refused { .. })
    }
}

impl From<mysql_async::Error> for PlayersError {
    fn from(e: mysql_async::Error) -> PlayersError {
        match e {
            mysql_async::Error::Server(ref s) => {
                match PERMANENT.iter().find(|(code, _)| *code == s.code) {
                    Some((code, what)) => PlayersError::Refused {
                        code: *code,
                        what,
                        message: s.message.clone(),
                    },
                    None => PlayersError::Mysql(e),
                }
            }
            e => PlayersError::Mysql(e),
        }
    }
}

/// Runs `query` on `conn`, read-only and stopped by the server after `limit`; the client
/// gives up one second later. On a client-side timeout the connection is in an unknown
/// state, so it is dropped rather than returned to the pool.
pub async fn count(mut conn: Conn, query: &str, limit: Duration) -> Result<u64, PlayersError> {
    let run = run(&mut conn, query, limit);
    match timeout(limit + Duration::from_secs(1), run).await {
        Ok(result) => result,
        Err(_) => {
            // Never hand a connection with a query under way back to the pool.
            let _ = timeout(Duration::from_secs(1), conn.disconnect()).await;
            Err(PlayersError::Timeout(limit))
        }
    }
}

async fn run(conn: &mut Conn, query: &str, limit: Duration) -> Result<u64, PlayersError> {
    conn.query_drop("START TRANSACTION READ ONLY").await?;
    let result = select(conn, query, limit).await;
    // Always end the transaction, so the pooled connection is clean for the next read.
    let ended = conn.query_drop("ROLLBACK").await;
    let n = result?;
    ended?;
    Ok(n)
}

async fn select(conn: &mut Conn, query: &str, limit: Duration) -> Result<u64, PlayersError> {
    // MariaDB reports its own version (10.x, 11.x) in the handshake; MySQL is at 9.x at
    // most. mysql_async keeps the flavour to itself, and asking the server would cost a
    // statement per connection.
    let mariadb = conn.server_version().0 >= 10;
    let sql = if mariadb {
        let seconds = limit.as_secs_f64().max(0.001);
        format!("SET STATEMENT max_statement_time={seconds:.3} FOR {query}")
    } else {
        let ms = limit.as_millis().max(1);
        conn.query_drop(format!("SET SESSION max_execution_time={ms}"))
            .await?;
        query.to_owned()
    };
    let timed_out = |e: mysql_async::Error| match e {
        mysql_async::Error::Server(ref s)
            if s.code == ER_STATEMENT_TIMEOUT || s.code == ER_QUERY_TIMEOUT =>
        {
            PlayersError::Timeout(limit)
        }
        e => PlayersError::from(e),
    };
    // At most two rows are looked at: a query that returns a million costs no memory.
    let mut result = conn.query_iter(sql).await.map_err(timed_out)?;
    let first = result.next().await.map_err(timed_out)?;
    let second = match first {
        Some(_) => result.next().await.map_err(timed_out)?,
        None => None,
    };
    result.drop_result().await.map_err(timed_out)?;
    match (first, second) {
        (None, _) => Err(PlayersError::NoRows),
        (Some(_), Some(_)) => Err(PlayersError::SeveralRows),
        (Some(row), None) => one_count(row),
    }
}

/// The count in the one row, which must have one column.
fn one_count(mut row: Row) -> Result<u64, PlayersError> {
    if row.len() != 1 {
        return Err(PlayersError::Columns(row.len()));
    }
    let value = row.take::<Value, usize>(0).unwrap_or(Value::NULL);
    to_count(value)
}

fn to_count(value: Value) -> Result<u64, PlayersError> {
    let shown = || match &value {
        Value::Bytes(b) => format!(
            "{:?}",
            String::from_utf8_lossy(b)
                .chars()
                .take(40)
                .collect::<String>()
        ),
        other => other.as_sql(true),
    };
    let number = match &value {
        Value::NULL => return Err(PlayersError::Null),
        Value::Int(i) => RowValue::Int(*i),
        Value::UInt(u) => RowValue::UInt(*u),
        Value::Float(f) => RowValue::Float(f64::from(*f)),
        Value::Double(f) => RowValue::Float(*f),
        Value::Bytes(b) => RowValue::Bytes(b.clone()),
        _ => return Err(PlayersError::NotACount(shown())),
    }
    .to_number()
    .map_err(|_| PlayersError::NotACount(shown()))?;
    if number < 0.0 {
        return Err(PlayersError::Negative(shown()));
    }
    if number.fract() != 0.0 || number > MAX_PLAYERS as f64 {
        return Err(PlayersError::NotACount(shown()));
    }
    Ok(number as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_what_is_not_one() {
        assert_eq!(to_count(Value::Bytes(b"150".to_vec())).unwrap(), 150);
        assert_eq!(to_count(Value::Bytes(b"150.000".to_vec())).unwrap(), 150);
        assert_eq!(to_count(Value::Int(0)).unwrap(), 0);
        assert_eq!(to_count(Value::UInt(7)).unwrap(), 7);
        assert!(matches!(to_count(Value::NULL), Err(PlayersError::Null)));
        assert!(matches!(
            to_count(Value::Bytes(b"-3".to_vec())),
            Err(PlayersError::Negative(s)) if s == "\"-3\""
        ));
        assert!(matches!(
            to_count(Value::Bytes(b"many".to_vec())),
            Err(PlayersError::NotACount(s)) if s == "\"many\""
        ));
        assert!(matches!(
            to_count(Value::Double(1.5)),
            Err(PlayersError::NotACount(_))
        ));
        assert!(matches!(
            to_count(Value::Double(1e300)),
            Err(PlayersError::NotACount(_))
        ));
    }

    #[test]
    fn permanent_errors_are_the_ones_no_retry_fixes() {
        let refused = PlayersError::Refused {
            code: 1146,
            what: "no such table",
            message: "Table 'game.characters' doesn't exist".into(),
        };
        assert!(refused.permanent());
        assert!(refused.to_string().contains("characters"));
        assert!(!PlayersError::Null.permanent());
        assert!(!PlayersError::Timeout(Duration::from_secs(1)).permanent());
    }
}
