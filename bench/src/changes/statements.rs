//! Statements per MySQL user, counted from the throwaway server's general log
//! (`--general-log --log-output=TABLE`): every statement a client sent, attributed to the
//! user that sent it, so each mode's own user's count is that mode's cost and nothing else's.

use std::collections::HashMap;

use crate::mysql::Admin;

/// The refresher's one query (status-refresher's `source::QUERY`): a full refresh.
const REFRESH: &str = "SELECT Name, Value, Description FROM constants";

/// One user's statements so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Every statement (`Query` and `Execute`; connects, pings and binlog dumps are not
    /// statements).
    pub statements: u64,
    /// Of those, full refreshes.
    pub refreshes: u64,
}

impl Counts {
    /// What was sent between `before` and `self`.
    pub fn since(self, before: Counts) -> Counts {
        Counts {
            statements: self.statements.saturating_sub(before.statements),
            refreshes: self.refreshes.saturating_sub(before.refreshes),
        }
    }
}

/// Counts so far of every user whose name starts with `prefix` (one of the harness's own
/// `ss_bench_<hex>` names: nothing to escape).
pub async fn by_user(admin: &mut Admin, prefix: &str) -> anyhow::Result<HashMap<String, Counts>> {
    // user_host reads `user[user] @  [127.0.0.1]`.
    let rows: Vec<(String, u64, u64)> = admin
        .query(&format!(
            "SELECT SUBSTRING_INDEX(user_host, '[', 1), \
             CAST(SUM(command_type IN ('Query', 'Execute')) AS UNSIGNED), \
             CAST(SUM(command_type = 'Query' AND argument LIKE '{REFRESH}%') AS UNSIGNED) \
             FROM mysql.general_log WHERE user_host LIKE '{prefix}%' GROUP BY 1"
        ))
        .await?;
    Ok(rows
        .into_iter()
        .map(|(user, statements, refreshes)| {
            (
                user,
                Counts {
                    statements,
                    refreshes,
                },
            )
        })
        .collect())
}

/// What `user` sent between two [`by_user`] readings (a user absent from one has sent
/// nothing by then).
pub fn between(
    before: &HashMap<String, Counts>,
    after: &HashMap<String, Counts>,
    user: &str,
) -> Counts {
    let of = |counts: &HashMap<String, Counts>| counts.get(user).copied().unwrap_or_default();
    of(after).since(of(before))
}
