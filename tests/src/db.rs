//! A throw-away MariaDB/MySQL database per test.
//!
//! [`TestDb::new`] creates `ss_t_<random>` (utf8mb4) on the server named by
//! `SERVER_STATUS_TEST_MYSQL` (default `mysql://root@127.0.0.1:3306`) and drops it when the
//! value is dropped. The methods are blocking so that plain `#[test]`s can use them; they
//! run on a small runtime owned by this module, so they also work when called from inside
//! an async test (the caller's thread only waits on a channel, it never nests a runtime).

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

pub use dev_support::constants::Columns;
pub use mysql_async::Value as SqlValue;
use mysql_async::prelude::Queryable;
use mysql_async::{Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts};

/// Default server for tests.
pub const DEFAULT_TEST_MYSQL: &str = "mysql://root@127.0.0.1:3306";

/// Bound on every fixture call.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The server URL tests use, without a database (`SERVER_STATUS_TEST_MYSQL`).
pub fn server_url() -> String {
    crate::setting("SERVER_STATUS_TEST_MYSQL", DEFAULT_TEST_MYSQL)
        .trim_end_matches('/')
        .to_owned()
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("test-db")
            .enable_all()
            .build()
            .expect("cannot build the test-db runtime")
    })
}

/// A pool on the server without a database selected (for CREATE/DROP DATABASE).
fn admin_pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let opts = Opts::from_url(&server_url()).expect("SERVER_STATUS_TEST_MYSQL is not a URL");
        let _guard = runtime().enter();
        Pool::new(with_small_pool(opts, None))
    })
}

fn with_small_pool(opts: Opts, db: Option<&str>) -> Opts {
    let pool = PoolOpts::default()
        .with_constraints(PoolConstraints::new(0, 4).expect("valid constraints"));
    OptsBuilder::from_opts(opts)
        .db_name(db)
        .pool_opts(pool)
        .into()
}

/// Runs `fut` on the fixture runtime and waits for it (bounded), from any thread or context.
fn block_on<T: Send + 'static>(fut: impl Future<Output = T> + Send + 'static) -> T {
    try_block_on(fut).unwrap_or_else(|e| panic!("{e}"))
}

/// [`block_on`] without panicking (for `Drop`).
fn try_block_on<T: Send + 'static>(
    fut: impl Future<Output = T> + Send + 'static,
) -> Result<T, &'static str> {
    let (tx, rx) = std::sync::mpsc::channel();
    runtime().spawn(async move {
        let out = tokio::time::timeout(CALL_TIMEOUT, fut).await;
        let _ = tx.send(out);
    });
    match rx.recv() {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(_)) => Err("database call timed out"),
        Err(_) => Err("test-db task vanished"),
    }
}

/// A `constants` row as tests insert it.
#[derive(Debug, Clone)]
pub struct Constant {
    pub name: String,
    pub value: SqlValue,
    pub description: Option<String>,
}

/// Shorthand: `constant("RateExp", 2.5, Some("Рейт"))`, `constant("X", None::<f64>, None)`.
pub fn constant(name: &str, value: impl Into<SqlValue>, description: Option<&str>) -> Constant {
    Constant {
        name: name.to_owned(),
        value: value.into(),
        description: description.map(str::to_owned),
    }
}

/// A database that exists for the life of this value.
pub struct TestDb {
    name: String,
    pool: Pool,
    /// The server's URL without a database, and a pool on it for CREATE/DROP DATABASE.
    server: String,
    admin: Pool,
}

impl TestDb {
    /// Creates `ss_t_<random>` with `utf8mb4` as its character set.
    pub fn new() -> TestDb {
        TestDb::create(server_url(), admin_pool().clone())
    }

    /// [`TestDb::new`] on another server (`mysql://root@127.0.0.1:<port>`, no database):
    /// a throwaway `mariadbd` a test started with its own options.
    pub fn on(server: &str) -> TestDb {
        let server = server.trim_end_matches('/').to_owned();
        let opts = Opts::from_url(&server).expect("not a mysql:// URL");
        let admin = {
            let _guard = runtime().enter();
            Pool::new(with_small_pool(opts, None))
        };
        TestDb::create(server, admin)
    }

    fn create(server: String, admin: Pool) -> TestDb {
        let name = format!("ss_t_{:016x}", fastrand::u64(..));
        let create =
            format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci");
        let conn = admin.clone();
        block_on(async move { conn.get_conn().await?.query_drop(create).await })
            .expect("cannot create the test database");
        let opts = Opts::from_url(&server).expect("not a mysql:// URL");
        let pool = {
            let _guard = runtime().enter();
            Pool::new(with_small_pool(opts, Some(&name)))
        };
        TestDb {
            name,
            pool,
            server,
            admin,
        }
    }

    /// The database's name (`ss_t_...`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `mysql://user[:password]@host:port/ss_t_...`, for `DATABASE_URL`.
    pub fn url(&self) -> String {
        format!("{}/{}", self.server, self.name)
    }

    /// The server's host and port (for DB_HOST/DB_PORT style configuration).
    pub fn host_port(&self) -> (String, u16) {
        let opts = Opts::from_url(&self.server).expect("not a mysql:// URL");
        (opts.ip_or_hostname().to_owned(), opts.tcp_port())
    }

    /// Runs one or more statements (text protocol) in this database.
    pub fn exec(&self, sql: &str) {
        let pool = self.pool.clone();
        let sql_owned = sql.to_owned();
        block_on(async move { pool.get_conn().await?.query_drop(sql_owned).await })
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Runs a query and returns every cell as text (`None` for NULL).
    pub fn query(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        let pool = self.pool.clone();
        let sql_owned = sql.to_owned();
        let rows: Vec<mysql_async::Row> =
            block_on(async move { pool.get_conn().await?.query(sql_owned).await })
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.into_iter()
            .map(|row| {
                row.unwrap()
                    .into_iter()
                    .map(|v| match v {
                        SqlValue::NULL => None,
                        SqlValue::Bytes(b) => Some(String::from_utf8_lossy(&b).into_owned()),
                        other => Some(other.as_sql(true)),
                    })
                    .collect()
            })
            .collect()
    }

    /// Creates `constants (Name VARCHAR(64), Value <value_type> NULL, Description TEXT NULL)`
    /// in utf8mb4, with `value_type` as given (`DOUBLE`, `INT`, `DECIMAL(10,2)`,
    /// `VARCHAR(64)`, ...).
    pub fn create_constants(&self, value_type: &str) {
        self.create_table(Columns::value(value_type));
    }

    /// Creates `constants` with other column types (a latin1 description, a case-sensitive
    /// name, ...), from the one definition in dev-support.
    pub fn create_table(&self, columns: Columns<'_>) {
        self.exec(&columns.create_table());
    }

    /// Inserts rows into `constants` (prepared statements: values keep their types).
    pub fn insert_constants(&self, rows: &[Constant]) {
        let pool = self.pool.clone();
        let rows = rows.to_vec();
        block_on(async move {
            let mut conn = pool.get_conn().await?;
            for r in rows {
                conn.exec_drop(
                    "INSERT INTO constants (Name, Value, Description) VALUES (?, ?, ?)",
                    (r.name, r.value, r.description),
                )
                .await?;
            }
            Ok::<_, mysql_async::Error>(())
        })
        .expect("cannot insert constants");
    }

    /// Shorthand for one row.
    pub fn insert(&self, name: &str, value: impl Into<SqlValue>, description: Option<&str>) {
        self.insert_constants(&[constant(name, value, description)]);
    }

    /// A database whose empty `constants` has the column types `columns` gives.
    pub fn with_table(columns: Columns<'_>) -> TestDb {
        let db = TestDb::new();
        db.create_table(columns);
        db
    }

    /// `create_constants(value_type)` then `insert_constants(rows)`.
    pub fn with_constants(value_type: &str, rows: &[Constant]) -> TestDb {
        let db = TestDb::new();
        db.create_constants(value_type);
        db.insert_constants(rows);
        db
    }
}

impl Default for TestDb {
    fn default() -> Self {
        TestDb::new()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let drop_db = format!("DROP DATABASE IF EXISTS `{}`", self.name);
        let admin = self.admin.clone();
        let pool = self.pool.clone();
        let result = try_block_on(async move {
            let _ = pool.disconnect().await;
            admin.get_conn().await?.query_drop(drop_db).await
        });
        if !matches!(result, Ok(Ok(()))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

/// Statement counters of one MariaDB user (`information_schema.USER_STATISTICS`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserStats {
    pub connections: u64,
    pub selects: u64,
    pub updates: u64,
    pub others: u64,
    pub bytes_received: u64,
}

impl UserStats {
    pub fn statements(&self) -> u64 {
        self.selects + self.updates + self.others
    }
}

pub fn user_stats(db: &TestDb, user: &str) -> UserStats {
    let rows = db.query(&format!(
        "SELECT TOTAL_CONNECTIONS, SELECT_COMMANDS, UPDATE_COMMANDS, OTHER_COMMANDS, \
         BYTES_RECEIVED FROM information_schema.USER_STATISTICS WHERE USER = '{user}'"
    ));
    let Some(row) = rows.first() else {
        return UserStats::default();
    };
    let n = |i: usize| -> u64 {
        row[i]
            .as_deref()
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(0, |v| v as u64)
    };
    UserStats {
        connections: n(0),
        selects: n(1),
        updates: n(2),
        others: n(3),
        bytes_received: n(4),
    }
}

/// A MariaDB user that exists for one test: only the refresher uses it.
pub struct DbUser<'a> {
    db: &'a TestDb,
    pub name: String,
    password: String,
}

impl<'a> DbUser<'a> {
    /// `ss_t_user_<random>` with `SELECT` on this database's `constants` and nothing else.
    pub fn create(db: &'a TestDb) -> DbUser<'a> {
        let name = format!("ss_t_user_{:012x}", fastrand::u64(..) >> 16);
        let password = format!("{:016x}", fastrand::u64(..));
        db.exec(&format!(
            "CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'"
        ));
        let user = DbUser { db, name, password };
        db.exec(&format!(
            "GRANT SELECT ON `{}`.`constants` TO '{}'@'%'",
            db.name(),
            user.name
        ));
        user
    }

    pub fn url(&self) -> String {
        let (host, port) = self.db.host_port();
        format!(
            "mysql://{}:{}@{host}:{port}/{}",
            self.name,
            self.password,
            self.db.name()
        )
    }
}

impl Drop for DbUser<'_> {
    fn drop(&mut self) {
        // Also while a failed test unwinds: its panic message is already printed, so even
        // the abort a failing DROP would cause then hides nothing.
        self.db
            .exec(&format!("DROP USER IF EXISTS '{}'@'%'", self.name));
    }
}
