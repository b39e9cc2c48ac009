//! The demo database: a realistic `constants` table for `up` to serve, and a small
//! `characters` table whose online ones the refresher counts as players.
//!
//! The rule is "create if absent, never alter", for each table on its own: if the database
//! already has a `constants` (or `characters`) table — the developer's own data, or a real
//! game database named by `DATABASE_URL` — it is served as it is. The rows live in
//! `fixtures/demo_constants.sql` and `fixtures/demo_characters.sql` so tests and benchmarks
//! can load exactly the same tables.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use mysql_async::prelude::Queryable;

use crate::endpoint::ServiceUrl;
use crate::services::probe::block_on;

/// The database `up` uses when `DATABASE_URL` names none.
pub const DEMO_DATABASE: &str = "server_status_demo";

/// The demo table and its rows (runs in the current database).
pub const FIXTURE_SQL: &str = include_str!("../fixtures/demo_constants.sql");

/// The demo `characters` table (runs in the current database).
pub const CHARACTERS_SQL: &str = include_str!("../fixtures/demo_characters.sql");

/// The players query `up` gives the refresher for the demo `characters` table.
pub const PLAYERS_QUERY: &str = "SELECT COUNT(*) FROM characters WHERE online = 1";

/// The demo constant that holds the most players at once (`STATUS_MAX_PLAYERS_CONSTANT`).
pub const MAX_PLAYERS_CONSTANT: &str = "MaxOnline";

/// Bound on the whole seeding conversation (a handful of statements).
const SEED_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seeded {
    /// The table was absent and now holds the demo rows.
    Created { rows: u64 },
    /// A `constants` table was already there; it was left untouched.
    Existing { rows: u64 },
}

/// What [`ensure`] found or made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Demo {
    pub constants: Seeded,
    /// `None`: not asked for (`ensure_constants`).
    pub characters: Option<Seeded>,
}

/// Makes sure `database` exists and has a `constants` table, creating both from the fixture
/// only when absent. `server` is the server URL (its path is ignored).
pub fn ensure_constants(server: &ServiceUrl, database: &str) -> Result<Seeded> {
    Ok(ensure_tables(server, database, false)?.constants)
}

/// [`ensure_constants`], and a `characters` table likewise: created from its fixture only
/// when absent, never altered.
pub fn ensure(server: &ServiceUrl, database: &str) -> Result<Demo> {
    ensure_tables(server, database, true)
}

fn ensure_tables(server: &ServiceUrl, database: &str, characters: bool) -> Result<Demo> {
    check_name(database)?;
    let opts = mysql_async::Opts::from_url(&server.with_path("").expose())
        .map_err(|e| anyhow!("the MySQL URL is not valid: {e}"))?;
    let seeded = block_on(async {
        tokio::time::timeout(SEED_TIMEOUT, seed(opts, database, characters))
            .await
            .map_err(|_| anyhow!("no answer within {}s", SEED_TIMEOUT.as_secs()))?
    })??;
    Ok(seeded)
}

async fn seed(opts: mysql_async::Opts, database: &str, characters: bool) -> Result<Demo> {
    let mut conn = mysql_async::Conn::new(opts).await.context("connecting")?;
    // Existence is checked through information_schema first, so a user that may only read an
    // existing database is never asked to CREATE anything.
    let schemas: Option<u64> = conn
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
            (database,),
        )
        .await?;
    if schemas.unwrap_or(0) == 0 {
        conn.query_drop(format!(
            "CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        ))
        .await
        .with_context(|| format!("creating the database {database}"))?;
    }
    let constants = seed_table(&mut conn, database, "constants", FIXTURE_SQL).await?;
    let characters = match characters {
        true => Some(seed_table(&mut conn, database, "characters", CHARACTERS_SQL).await?),
        false => None,
    };
    conn.disconnect().await?;
    Ok(Demo {
        constants,
        characters,
    })
}

/// Creates `table` from `fixture` unless it exists; counts its rows either way.
async fn seed_table(
    conn: &mut mysql_async::Conn,
    database: &str,
    table: &str,
    fixture: &str,
) -> Result<Seeded> {
    let tables: Option<u64> = conn
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (database, table),
        )
        .await?;
    let existed = tables.unwrap_or(0) > 0;
    if !existed {
        conn.query_drop(format!("USE `{database}`")).await?;
        conn.query_drop(fixture)
            .await
            .with_context(|| format!("creating {database}.{table} from the demo fixture"))?;
    }
    let rows: Option<u64> = conn
        .query_first(format!("SELECT COUNT(*) FROM `{database}`.`{table}`"))
        .await
        .with_context(|| format!("counting the rows of {database}.{table}"))?;
    let rows = rows.unwrap_or(0);
    Ok(if existed {
        Seeded::Existing { rows }
    } else {
        Seeded::Created { rows }
    })
}

/// Database names are interpolated into SQL (identifiers cannot be bound), so only plain ones
/// are accepted.
fn check_name(database: &str) -> Result<()> {
    if database.is_empty()
        || database.len() > 64
        || !database
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    {
        bail!("database name {database:?}: use letters, digits, `_` or `$` (at most 64)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use status_document::{BuildOptions, ConstantRow, Field, RowValue, build};

    fn test_server() -> ServiceUrl {
        let url = std::env::var("SERVER_STATUS_TEST_MYSQL")
            .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_owned());
        ServiceUrl::parse(&url).unwrap()
    }

    fn unique_db() -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        format!("ss_t_xtask_{}_{nanos}", std::process::id())
    }

    async fn conn(server: &ServiceUrl) -> mysql_async::Conn {
        let opts = mysql_async::Opts::from_url(&server.expose()).unwrap();
        mysql_async::Conn::new(opts).await.unwrap()
    }

    #[test]
    fn fixture_names_every_mapped_constant_once() {
        for field in Field::ALL {
            let needle = format!("('{}', ", field.default_constant());
            assert_eq!(
                FIXTURE_SQL.matches(&needle).count(),
                1,
                "{} must appear exactly once",
                field.default_constant()
            );
        }
    }

    #[test]
    fn rejects_names_that_would_need_quoting() {
        assert!(check_name("server_status_demo").is_ok());
        assert!(check_name("a`; DROP TABLE x").is_err());
        assert!(check_name("").is_err());
        assert!(check_name(&"x".repeat(65)).is_err());
    }

    /// A seeded table's rows as read back.
    type Rows = Vec<(String, Option<Vec<u8>>, Option<String>)>;

    /// Against the real MariaDB: the fixture loads, builds a complete ~4–5 KB document with
    /// nothing defaulted, and a second `ensure` leaves an existing (edited) table untouched.
    #[test]
    fn seeds_once_and_never_alters_an_existing_table() {
        let server = test_server();
        let db = unique_db();
        let first = ensure(&server, &db);
        let outcome = block_on(read_then_edit(&server, &db));
        let second = ensure(&server, &db);
        let (after, online_after) = block_on(read_then_drop(&server, &db)).unwrap();

        assert_eq!(
            first.unwrap(),
            Demo {
                constants: Seeded::Created { rows: 42 },
                characters: Some(Seeded::Created { rows: 8 }),
            }
        );
        assert_eq!(
            second.unwrap(),
            Demo {
                constants: Seeded::Existing { rows: 42 },
                characters: Some(Seeded::Existing { rows: 8 }),
            }
        );
        assert_eq!(
            after.as_deref(),
            Some("7"),
            "an existing table must not be re-seeded"
        );
        assert_eq!(
            online_after,
            Some(8),
            "an existing characters table must not be re-seeded"
        );

        let (rows, online) = outcome.unwrap();
        assert_eq!(online, Some(5), "five demo characters are online");
        assert_the_demo_document_is_complete(rows);
    }

    /// The freshly seeded rows and players count; then `RateExp` = 7 and every character
    /// online, edits a second `ensure` must keep.
    async fn read_then_edit(server: &ServiceUrl, db: &str) -> (Rows, Option<u64>) {
        let mut c = conn(server).await;
        let rows: Rows = c
            .query(format!(
                "SELECT Name, Value, Description FROM `{db}`.constants"
            ))
            .await
            .unwrap();
        c.query_drop(format!(
            "UPDATE `{db}`.constants SET Value = '7' WHERE Name = 'RateExp'"
        ))
        .await
        .unwrap();
        // The players query up gives the refresher, on the demo characters.
        c.query_drop(format!("USE `{db}`")).await.unwrap();
        let online: Option<u64> = c.query_first(PLAYERS_QUERY).await.unwrap();
        c.query_drop("UPDATE characters SET online = 1")
            .await
            .unwrap();
        c.disconnect().await.unwrap();
        (rows, online)
    }

    /// `RateExp` and the players count as they are now; then the database is dropped.
    async fn read_then_drop(server: &ServiceUrl, db: &str) -> (Option<String>, Option<u64>) {
        let mut c = conn(server).await;
        let v = c
            .query_first(format!(
                "SELECT Value FROM `{db}`.constants WHERE Name = 'RateExp'"
            ))
            .await
            .unwrap();
        c.query_drop(format!("USE `{db}`")).await.unwrap();
        let online = c.query_first(PLAYERS_QUERY).await.unwrap();
        c.query_drop(format!("DROP DATABASE `{db}`")).await.unwrap();
        c.disconnect().await.unwrap();
        (v, online)
    }

    /// The demo rows build a document with nothing defaulted, the demo's values, and a
    /// size of 4–6 KB.
    fn assert_the_demo_document_is_complete(rows: Rows) {
        let rows: Vec<ConstantRow> = rows
            .into_iter()
            .map(|(name, value, description)| ConstantRow {
                name,
                value: value.map_or(RowValue::Null, RowValue::Bytes),
                description,
            })
            .collect();
        let built = build(&rows, &BuildOptions::default(), 1_700_000_000.0).unwrap();
        let doc = &built.document;
        assert!(doc.defaulted.is_empty(), "defaulted: {:?}", doc.defaulted);
        assert_eq!(doc.server_status, Some(1.0));
        assert_eq!(doc.rates.unwrap().exp, 2.5);
        assert_eq!(doc.rates.unwrap().skill, 1.75);
        assert_eq!(doc.client_status, Some(256.0));
        assert_eq!(doc.meta.len(), 42);
        assert!(
            FIXTURE_SQL.contains(&format!("('{MAX_PLAYERS_CONSTANT}', '1500'")),
            "the max-players constant is in the demo table"
        );
        assert_eq!(
            doc.meta.get("EventName").map(String::as_str),
            Some("🎄 Название текущего сезонного события")
        );
        assert!(
            (4_000..=6_000).contains(&built.json.len()),
            "document is {} bytes",
            built.json.len()
        );
    }
}
