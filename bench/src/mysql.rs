//! The harness's own MySQL connection: fixture databases and statement counters.
//!
//! `Questions` and `Com_select` are server-wide, so the harness calibrates what its own
//! `SHOW GLOBAL STATUS` costs and subtracts it; anything else in the delta came from the
//! target under test or from another client of the same server. To tell those apart on a
//! shared server the harness also reads MariaDB's per-table statistics (`userstat`) for the
//! run's own `constants` table, which only the targets under test can touch: switched on
//! for the run when it was off, and switched back at the end.

use std::time::Duration;

use anyhow::Context;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder};

use status_document::{ConstantRow, RowValue};

use crate::fixture::{DEMO_SQL, insert_statements, padding};

const TIMEOUT: Duration = Duration::from_secs(30);

/// Server-wide statement counters at one instant.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counters {
    pub questions: u64,
    pub com_select: u64,
    /// Rows read from the run's `constants` table (`None`: no per-table statistics).
    pub fixture_rows: Option<u64>,
    /// `None`: no per-user statistics.
    pub by_user: Option<ByUser>,
}

/// Statements by the run's own database user, which only the targets under test use.
#[derive(Debug, Clone, Copy, Default)]
pub struct ByUser {
    /// All kinds.
    pub statements: u64,
    pub selects: u64,
}

impl Counters {
    /// Statements of every kind by the run's own user.
    pub fn user_statements(&self) -> Option<u64> {
        self.by_user.map(|u| u.statements)
    }

    /// SELECTs by the run's own user.
    pub fn user_selects(&self) -> Option<u64> {
        self.by_user.map(|u| u.selects)
    }
}

pub struct Admin {
    conn: Conn,
    /// `Questions` added by one `counters()` call itself.
    overhead: Counters,
    base_url: String,
    /// The database whose `constants` table is watched, and the user whose statements are.
    watched: Option<(String, String)>,
    /// `userstat` was off and the harness switched it on (and must switch it back).
    enabled_userstat: bool,
}

impl Admin {
    /// Connects to `base_url` (`mysql://user:pass@host:port`, no database).
    pub async fn connect(base_url: &str) -> anyhow::Result<Admin> {
        let opts = Opts::from_url(base_url)
            .map_err(|_| anyhow::anyhow!("the MySQL URL is not a valid mysql:// URL"))?;
        let opts = OptsBuilder::from_opts(opts)
            .max_allowed_packet(Some(64 << 20))
            .wait_timeout(Some(28_800))
            .prefer_socket(false);
        let conn = tokio::time::timeout(TIMEOUT, Conn::new(opts))
            .await
            .context("connecting to MySQL timed out")?
            .context("connecting to MySQL")?;
        let mut admin = Admin {
            conn,
            overhead: Counters::default(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            watched: None,
            enabled_userstat: false,
        };
        let userstat: Option<String> = admin
            .conn
            .query_first("SELECT @@global.userstat")
            .await
            .ok()
            .flatten();
        if matches!(userstat.as_deref(), Some("0") | Some("OFF")) {
            admin.enabled_userstat = admin.exec("SET GLOBAL userstat = ON").await.is_ok();
        }
        // Two back-to-back reads: their difference is the cost of one read.
        let a = admin.raw_counters().await?;
        let b = admin.raw_counters().await?;
        admin.overhead = Counters {
            questions: b.questions.saturating_sub(a.questions),
            com_select: b.com_select.saturating_sub(a.com_select),
            ..Counters::default()
        };
        Ok(admin)
    }

    /// Counts rows read from `database`.constants and the statements of `user` from now on.
    pub fn watch(&mut self, database: &str, user: &str) {
        self.watched = Some((database.to_owned(), user.to_owned()));
    }

    /// Creates `user` (password `password`) allowed only to read `databases`: the account
    /// the targets and the refresher use, so its statistics are theirs alone. Both host
    /// forms, because TCP connections from 127.0.0.1 may resolve to `localhost`.
    pub async fn create_user(
        &mut self,
        user: &str,
        password: &str,
        databases: &[&str],
    ) -> anyhow::Result<()> {
        for host in ["localhost", "%"] {
            self.exec(&format!("DROP USER IF EXISTS '{user}'@'{host}'"))
                .await?;
            self.exec(&format!(
                "CREATE USER '{user}'@'{host}' IDENTIFIED BY '{password}'"
            ))
            .await?;
            for database in databases {
                self.exec(&format!(
                    "GRANT SELECT ON `{database}`.* TO '{user}'@'{host}'"
                ))
                .await?;
            }
        }
        Ok(())
    }

    pub async fn drop_user(&mut self, user: &str) {
        for host in ["localhost", "%"] {
            let _ = self
                .exec(&format!("DROP USER IF EXISTS '{user}'@'{host}'"))
                .await;
        }
    }

    /// Switches `userstat` back off if the harness switched it on.
    pub async fn restore(&mut self) {
        if self.enabled_userstat {
            let _ = self.exec("SET GLOBAL userstat = OFF").await;
            self.enabled_userstat = false;
        }
    }

    /// URL of `database` on the same server.
    pub fn url_for(&self, database: &str) -> String {
        format!("{}/{database}", self.base_url)
    }

    pub async fn server_version(&mut self) -> String {
        self.conn
            .query_first::<String, _>("SELECT VERSION()")
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| "unknown".into())
    }

    async fn raw_counters(&mut self) -> anyhow::Result<Counters> {
        let rows: Vec<(String, String)> = tokio::time::timeout(
            TIMEOUT,
            self.conn
                .query("SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions', 'Com_select')"),
        )
        .await
        .context("SHOW GLOBAL STATUS timed out")??;
        let mut counters = Counters::default();
        for (name, value) in rows {
            let value = value.parse().unwrap_or(0);
            match name.to_ascii_lowercase().as_str() {
                "questions" => counters.questions = value,
                "com_select" => counters.com_select = value,
                _ => {}
            }
        }
        // Always the same number of statements, so the calibration above stays right. The
        // names are the harness's own (`ss_bench_<hex>`): nothing to escape.
        let (database, user) = self.watched.clone().unwrap_or_default();
        let rows: Option<u64> = tokio::time::timeout(
            TIMEOUT,
            self.conn.query_first(format!(
                "SELECT CAST(COALESCE(SUM(ROWS_READ), 0) AS UNSIGNED) \
                 FROM information_schema.TABLE_STATISTICS \
                 WHERE TABLE_SCHEMA = '{database}' AND TABLE_NAME = 'constants'"
            )),
        )
        .await
        .context("TABLE_STATISTICS timed out")?
        .ok()
        .flatten();
        let by_user: Option<(u64, u64)> = tokio::time::timeout(
            TIMEOUT,
            self.conn.query_first(format!(
                "SELECT CAST(COALESCE(SUM(SELECT_COMMANDS + UPDATE_COMMANDS + OTHER_COMMANDS), 0) AS UNSIGNED), \
                 CAST(COALESCE(SUM(SELECT_COMMANDS), 0) AS UNSIGNED) \
                 FROM information_schema.USER_STATISTICS WHERE USER = '{user}'"
            )),
        )
        .await
        .context("USER_STATISTICS timed out")?
        .ok()
        .flatten();
        if self.watched.is_some() {
            counters.fixture_rows = rows;
            counters.by_user = by_user.map(|(statements, selects)| ByUser {
                statements,
                selects,
            });
        }
        Ok(counters)
    }

    /// Counters now.
    pub async fn counters(&mut self) -> anyhow::Result<Counters> {
        self.raw_counters().await
    }

    /// Statements between two readings, net of the harness's own reading.
    pub fn delta(&self, before: Counters, after: Counters) -> Counters {
        Counters {
            questions: after
                .questions
                .saturating_sub(before.questions)
                .saturating_sub(self.overhead.questions),
            com_select: after
                .com_select
                .saturating_sub(before.com_select)
                .saturating_sub(self.overhead.com_select),
            fixture_rows: sub(before.fixture_rows, after.fixture_rows),
            by_user: before
                .by_user
                .zip(after.by_user)
                .map(|(before, after)| ByUser {
                    statements: after.statements.saturating_sub(before.statements),
                    selects: after.selects.saturating_sub(before.selects),
                }),
        }
    }

    /// Creates `database` (dropping an old one of the same name: the name is the harness's
    /// own, `ss_bench_<random>`) with the demo `constants` table.
    pub async fn create_demo(&mut self, database: &str) -> anyhow::Result<()> {
        self.load_script(database, DEMO_SQL).await
    }

    /// [`Admin::create_demo`], its table padded with generated rows up to `rows`; returns how
    /// many rows the table holds (never fewer than the demo's).
    pub async fn create_fixture(&mut self, database: &str, rows: usize) -> anyhow::Result<usize> {
        self.create_demo(database).await?;
        let demo = self.count_constants().await?;
        for statement in insert_statements(&padding(demo, rows), 1000) {
            self.exec(&statement).await?;
        }
        Ok(demo.max(rows))
    }

    /// The current database's `constants` rows as the refresher reads them over the text
    /// protocol.
    pub async fn constant_rows(&mut self) -> anyhow::Result<Vec<ConstantRow>> {
        let rows: Vec<(String, Option<Vec<u8>>, Option<String>)> = self
            .query("SELECT Name, Value, Description FROM constants")
            .await?;
        Ok(rows
            .into_iter()
            .map(|(name, value, description)| ConstantRow {
                name,
                value: value.map_or(RowValue::Null, RowValue::Bytes),
                description,
            })
            .collect())
    }

    async fn count_constants(&mut self) -> anyhow::Result<usize> {
        let count: Vec<u64> = self.query("SELECT COUNT(*) FROM constants").await?;
        let count = count.first().copied().context("COUNT(*) returned no row")?;
        usize::try_from(count).context("row count")
    }

    /// Creates `database` and runs `script` in it: `;`-terminated statements, `--` comments
    /// (the format of xtask/fixtures/demo_constants.sql).
    pub async fn load_script(&mut self, database: &str, script: &str) -> anyhow::Result<()> {
        self.recreate_database(database).await?;
        let body: String = script
            .lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n");
        for statement in body.split(";\n").map(str::trim).filter(|s| !s.is_empty()) {
            self.exec(statement.trim_end_matches(';')).await?;
        }
        Ok(())
    }

    /// Drops `database` if it exists, creates it empty and makes it the session's default.
    async fn recreate_database(&mut self, database: &str) -> anyhow::Result<()> {
        self.exec(&format!("DROP DATABASE IF EXISTS `{database}`"))
            .await?;
        self.exec(&format!(
            "CREATE DATABASE `{database}` DEFAULT CHARSET utf8mb4"
        ))
        .await?;
        self.exec(&format!("USE `{database}`")).await
    }

    pub async fn drop_database(&mut self, database: &str) -> anyhow::Result<()> {
        self.exec(&format!("DROP DATABASE IF EXISTS `{database}`"))
            .await
    }

    /// Rows of one query with the harness's timeout (statements of the harness's own, on a
    /// server it reads, e.g. the general log of a throwaway server).
    pub async fn query<T>(&mut self, statement: &str) -> anyhow::Result<Vec<T>>
    where
        T: mysql_async::prelude::FromRow + Send + 'static,
    {
        tokio::time::timeout(TIMEOUT, self.conn.query(statement))
            .await
            .context("MySQL query timed out")?
            .with_context(|| format!("running {statement:?}"))
    }

    /// Runs one statement with the harness's timeout.
    pub async fn exec(&mut self, statement: &str) -> anyhow::Result<()> {
        tokio::time::timeout(TIMEOUT, self.conn.query_drop(statement))
            .await
            .context("MySQL statement timed out")??;
        Ok(())
    }
}

fn sub(before: Option<u64>, after: Option<u64>) -> Option<u64> {
    Some(after?.saturating_sub(before?))
}
