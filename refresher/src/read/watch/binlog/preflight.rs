//! What `STATUS_WATCH=binlog` needs from the server and the user, checked before anything
//! else so that everything missing is named at once: binary logging, `binlog_format=ROW`,
//! and the global privileges `REPLICATION SLAVE` and `REPLICATION CLIENT` (MariaDB's
//! `BINLOG MONITOR`).

use std::fmt;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};
use tokio::time::timeout;

use super::Position;

/// MySQL's "access denied; you need ... privilege".
const ER_SPECIFIC_ACCESS_DENIED: u16 = 1227;

/// What [`check`] read from the server.
#[derive(Debug, Clone, Default)]
pub struct ServerFacts {
    pub log_bin: bool,
    pub binlog_format: String,
    /// `CURRENT_USER()`, e.g. `status-refresher@10.0.0.%`.
    pub user: String,
    /// The lines of `SHOW GRANTS`.
    pub grants: Vec<String>,
}

/// Something the binlog watcher needs and does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    LogBin,
    RowFormat { actual: String },
    Privilege { name: &'static str, user: String },
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::LogBin => f.write_str(
                "binary logging is off (start the server with --log-bin, or log_bin under [mysqld])",
            ),
            Missing::RowFormat { actual } => write!(
                f,
                "binlog_format is {actual}, not ROW (SET GLOBAL binlog_format = 'ROW', and \
                 binlog_format = ROW under [mysqld])"
            ),
            Missing::Privilege { name, user } => write!(
                f,
                "{user} lacks {name} (GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO {user})"
            ),
        }
    }
}

/// Everything missing, in one message.
pub fn describe(missing: &[Missing]) -> String {
    let items: Vec<String> = missing.iter().map(ToString::to_string).collect();
    format!(
        "STATUS_WATCH=binlog cannot follow the binary log: {}",
        items.join("; ")
    )
}

/// The global privileges named by `SHOW GRANTS` lines (`GRANT a, b ON *.* TO ...`), in
/// upper case.
pub fn global_privileges(grants: &[String]) -> Vec<String> {
    grants
        .iter()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("GRANT ")?;
            let (privileges, _) = rest.split_once(" ON *.* TO ")?;
            Some(privileges)
        })
        .flat_map(|list| list.split(','))
        .map(|p| p.trim().to_ascii_uppercase())
        .filter(|p| !p.is_empty())
        .collect()
}

/// What is missing for the watcher, from what the server said.
pub fn missing(facts: &ServerFacts) -> Vec<Missing> {
    let mut out = Vec::new();
    if !facts.log_bin {
        out.push(Missing::LogBin);
    }
    if !facts.binlog_format.eq_ignore_ascii_case("ROW") {
        out.push(Missing::RowFormat {
            actual: facts.binlog_format.clone(),
        });
    }
    let privileges = global_privileges(&facts.grants);
    let has = |names: &[&str]| {
        privileges
            .iter()
            .any(|p| p == "ALL PRIVILEGES" || names.contains(&p.as_str()))
    };
    let user = quote_user(&facts.user);
    if !has(&["REPLICATION SLAVE"]) {
        out.push(Missing::Privilege {
            name: "REPLICATION SLAVE",
            user: user.clone(),
        });
    }
    // MariaDB 10.5 renamed REPLICATION CLIENT to BINLOG MONITOR (the old name is an alias).
    if !has(&["REPLICATION CLIENT", "BINLOG MONITOR"]) {
        out.push(Missing::Privilege {
            name: "REPLICATION CLIENT",
            user,
        });
    }
    out
}

/// `user@host` as `'user'@'host'`.
fn quote_user(current_user: &str) -> String {
    match current_user.rsplit_once('@') {
        Some((user, host)) => format!("'{user}'@'{host}'"),
        None => format!("'{current_user}'"),
    }
}

/// Why a look at the server failed.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The server cannot be watched with this configuration: not worth retrying.
    #[error("{}", describe(.0))]
    Unusable(Vec<Missing>),
    /// The server could not be asked (down, timed out): retry.
    #[error("{0}")]
    Unreachable(String),
}

/// Reads the server's facts and its current position; refuses with everything missing.
pub async fn check(conn: &mut Conn, limit: Duration) -> Result<Position, CheckError> {
    let facts = timeout(limit, read_facts(conn))
        .await
        .map_err(|_| CheckError::Unreachable(format!("checking timed out after {limit:?}")))?
        .map_err(|e| CheckError::Unreachable(e.to_string()))?;
    let mut gaps = missing(&facts);
    if !gaps.is_empty() {
        return Err(CheckError::Unusable(gaps));
    }
    // Four columns (file, position, do/ignore filters): read as a row, not as a tuple,
    // which would have to match the column count.
    let status = timeout(limit, conn.query_first::<Row, _>("SHOW MASTER STATUS"))
        .await
        .map_err(|_| {
            CheckError::Unreachable(format!("SHOW MASTER STATUS timed out after {limit:?}"))
        })?;
    match status {
        Ok(Some(mut row)) => {
            let file: Option<String> = row.take_opt(0).and_then(Result::ok);
            let pos: Option<u64> = row.take_opt(1).and_then(Result::ok);
            match (file, pos) {
                (Some(file), Some(pos)) => Ok(Position { file, pos }),
                _ => Err(CheckError::Unreachable(
                    "SHOW MASTER STATUS returned no file and position".into(),
                )),
            }
        }
        Ok(None) => Err(CheckError::Unusable(vec![Missing::LogBin])),
        Err(mysql_async::Error::Server(e)) if e.code == ER_SPECIFIC_ACCESS_DENIED => {
            // SHOW GRANTS read as if the privilege were there, yet the server refused.
            gaps.push(Missing::Privilege {
                name: "REPLICATION CLIENT",
                user: quote_user(&facts.user),
            });
            Err(CheckError::Unusable(gaps))
        }
        Err(e) => Err(CheckError::Unreachable(e.to_string())),
    }
}

async fn read_facts(conn: &mut Conn) -> Result<ServerFacts, mysql_async::Error> {
    let (log_bin, binlog_format, user): (Option<String>, Option<String>, Option<String>) = conn
        .query_first("SELECT @@global.log_bin, @@global.binlog_format, CURRENT_USER()")
        .await?
        .unwrap_or_default();
    let (log_bin, binlog_format, user) = (
        log_bin.unwrap_or_default(),
        binlog_format.unwrap_or_default(),
        user.unwrap_or_default(),
    );
    let grants: Vec<String> = conn.query("SHOW GRANTS").await?;
    Ok(ServerFacts {
        log_bin: matches!(log_bin.as_str(), "1" | "ON"),
        binlog_format,
        user,
        grants,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(log_bin: bool, format: &str, grants: &[&str]) -> ServerFacts {
        ServerFacts {
            log_bin,
            binlog_format: format.into(),
            user: "status-refresher@10.0.0.%".into(),
            grants: grants.iter().map(|g| g.to_string()).collect(),
        }
    }

    #[test]
    fn grants_are_read_from_global_lines_only() {
        let grants = [
            "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `u`@`%`".to_owned(),
            "GRANT SELECT ON `game`.`constants` TO `u`@`%`".to_owned(),
        ];
        assert_eq!(
            global_privileges(&grants),
            ["REPLICATION SLAVE", "BINLOG MONITOR"]
        );
    }

    #[test]
    fn everything_missing_is_named_at_once() {
        let f = facts(
            false,
            "MIXED",
            &["GRANT USAGE ON *.* TO `status-refresher`@`10.0.0.%`"],
        );
        let gaps = missing(&f);
        assert_eq!(gaps.len(), 4, "{gaps:?}");
        let text = describe(&gaps);
        for needle in [
            "binary logging is off",
            "binlog_format is MIXED, not ROW",
            "'status-refresher'@'10.0.0.%' lacks REPLICATION SLAVE",
            "lacks REPLICATION CLIENT",
            "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'status-refresher'@'10.0.0.%'",
        ] {
            assert!(text.contains(needle), "{needle}: {text}");
        }
    }

    #[test]
    fn enough_is_enough() {
        let ok = [
            "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `u`@`%`",
            "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `u`@`%`",
            "GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION",
        ];
        for grant in ok {
            assert_eq!(missing(&facts(true, "ROW", &[grant])), [], "{grant}");
        }
        let only_slave = facts(true, "row", &["GRANT REPLICATION SLAVE ON *.* TO `u`@`%`"]);
        assert!(matches!(
            missing(&only_slave).as_slice(),
            [Missing::Privilege {
                name: "REPLICATION CLIENT",
                ..
            }]
        ));
    }
}
