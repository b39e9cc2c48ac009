//! The refresher's MySQL statements at its defaults, counted from the general log by kind
//! (full refreshes, players-query runs with their transaction, everything else), so the
//! probe's share can be shown to be zero and the per-hour cost derived from the defaults.

use super::{INTERVAL_S, PLAYERS_INTERVAL_S};
use crate::mysql::Admin;

/// The refresher's one `constants` query (a full refresh).
const REFRESH: &str = "SELECT Name, Value, Description FROM constants";
/// How each players-query run starts on MariaDB (read/players.rs).
const PLAYERS_RUN: &str = "SET STATEMENT max_statement_time";

/// The refresher's own user's statements, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Statements {
    pub total: u64,
    pub refreshes: u64,
    pub players_runs: u64,
    /// Statements of the players runs: `START TRANSACTION READ ONLY`, the query, `ROLLBACK`.
    pub players_statements: u64,
}

impl Statements {
    pub(super) fn since(self, before: Statements) -> Statements {
        Statements {
            total: self.total.saturating_sub(before.total),
            refreshes: self.refreshes.saturating_sub(before.refreshes),
            players_runs: self.players_runs.saturating_sub(before.players_runs),
            players_statements: self
                .players_statements
                .saturating_sub(before.players_statements),
        }
    }

    /// Statements one players-query run costs (its transaction included).
    pub fn per_players_run(&self) -> Option<f64> {
        (self.players_runs > 0).then(|| self.players_statements as f64 / self.players_runs as f64)
    }

    /// Statements that are neither a refresh nor part of a players run: the probe's share.
    pub fn other(&self) -> u64 {
        self.total
            .saturating_sub(self.refreshes)
            .saturating_sub(self.players_statements)
    }

    /// MySQL statements an hour at the defaults: 3600 / 600 refreshes, and 3600 / 60
    /// players runs (a refresh runs the query too and restarts its clock, so the runs stay
    /// one a minute), and the probe's share, zero.
    pub fn per_hour(&self) -> Option<f64> {
        let per_run = self.per_players_run()?;
        Some(
            (3600 / INTERVAL_S) as f64
                + (3600 / PLAYERS_INTERVAL_S) as f64 * per_run
                + self.other() as f64,
        )
    }
}

/// `user`'s statements so far, from the general log.
pub(super) async fn statements(admin: &mut Admin, user: &str) -> anyhow::Result<Statements> {
    let count = |condition: &str| format!("CAST(COALESCE(SUM({condition}), 0) AS UNSIGNED)");
    let rows: Vec<(u64, u64, u64, u64)> = admin
        .query(&format!(
            "SELECT {}, {}, {}, {} FROM mysql.general_log WHERE user_host LIKE '{user}[%'",
            count("command_type IN ('Query', 'Execute')"),
            count(&format!(
                "command_type = 'Query' AND argument LIKE '{REFRESH}%'"
            )),
            count(&format!(
                "command_type = 'Query' AND argument LIKE '{PLAYERS_RUN}%'"
            )),
            count(&format!(
                "command_type = 'Query' AND (argument LIKE '{PLAYERS_RUN}%' \
                 OR argument LIKE 'START TRANSACTION READ ONLY%' OR argument LIKE 'ROLLBACK%')"
            )),
        ))
        .await?;
    let (total, refreshes, players_runs, players_statements) =
        rows.first().copied().unwrap_or_default();
    Ok(Statements {
        total,
        refreshes,
        players_runs,
        players_statements,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_per_hour_at_the_defaults() {
        let s = Statements {
            total: 2 + 5 * 3,
            refreshes: 2,
            players_runs: 5,
            players_statements: 15,
        };
        assert_eq!(s.other(), 0);
        assert_eq!(s.per_players_run(), Some(3.0));
        assert_eq!(s.per_hour(), Some(6.0 + 60.0 * 3.0));
        assert_eq!(Statements::default().per_hour(), None);
    }
}
