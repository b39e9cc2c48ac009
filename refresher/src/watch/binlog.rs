//! `STATUS_WATCH=binlog`: follow the server's binary log and nudge when a row event touches
//! this database's `constants` table.
//!
//! The refresher connects as a replica client (`COM_REGISTER_SLAVE` + `COM_BINLOG_DUMP`, via
//! mysql_async's binlog stream) from the position the server reports at start
//! (`SHOW MASTER STATUS`): only changes from then on matter, the start-up refresh read the
//! rest. It needs `binlog_format=ROW` (statement events name no rows) and the global
//! privileges `REPLICATION SLAVE` (the dump) and `REPLICATION CLIENT` (the position; MariaDB
//! calls it `BINLOG MONITOR`). [`check`] verifies all three before anything else and names
//! every one that is missing; without them the watcher reports
//! [`SourceState::Unavailable`] and the refresher keeps refreshing on the interval.
//!
//! What counts as a change ([`Follower`]): a rows event (insert, update, delete) whose table
//! map names `<database>.constants`; a rows event for a table id never mapped in this
//! stream (possible only right after a reconnect; better one refresh too many than a
//! missed change); and a statement event in this database naming `constants` (DDL such as
//! `TRUNCATE`, or a session that switched to statement logging). Events of other tables
//! cost nothing: no query, no nudge.
//!
//! The nudge is sent once the transaction's commit event arrives, plus [`SETTLE`]: MariaDB
//! hands a transaction to replica clients as soon as it is in the binary log, a moment
//! before InnoDB makes it visible to other sessions, and a `SELECT` in that moment would
//! read the old row.
//!
//! A lost stream (server restart, network cut, or silence past three heartbeats: the server
//! is asked for a heartbeat every [`HEARTBEAT`] while idle) reconnects with backoff from
//! the last commit position it saw, so nothing committed meanwhile is missed; binlog
//! rotation is followed through the rotate events. If that position no longer exists (the
//! file was purged meanwhile) it starts again from the current one and nudges once.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use futures_util::StreamExt;
use mysql_async::binlog::EventType;
use mysql_async::binlog::events::{Event, EventData, QueryEvent, RotateEvent, TableMapEvent};
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStreamRequest, Conn, Opts, Row};
use tokio::sync::watch;
use tokio::time::{Instant, timeout};
use tracing::{error, info, warn};

use crate::nudge::{Nudger, Reconnect, SourceState};

/// How often the server sends a heartbeat on an idle stream.
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// Silence after which the stream counts as dead.
pub const SILENCE_LIMIT: Duration = Duration::from_secs(15);
/// Wait between a commit event and its nudge (see the module docs).
pub const SETTLE: Duration = Duration::from_millis(100);
/// Longest wait between reconnect attempts.
pub const RECONNECT_CAP: Duration = Duration::from_secs(30);
/// Table ids remembered per stream; more are forgotten (and then count as changes).
const MAX_TABLE_IDS: usize = 4096;
/// The table watched.
pub const TABLE: &str = "constants";

/// The header flag of events the server made up for the stream (not in the file).
const LOG_EVENT_ARTIFICIAL_F: u16 = 0x20;
/// MySQL's "access denied; you need ... privilege".
const ER_SPECIFIC_ACCESS_DENIED: u16 = 1227;
/// "Could not find first log file name in binary log index file" and relatives.
const ER_MASTER_FATAL_ERROR_READING_BINLOG: u16 = 1236;

/// A position in the binary log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub file: String,
    pub pos: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.pos)
    }
}

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

/// One event, reduced to what the watcher decides on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// The stream continues in `file` at `pos` (the server started a new file).
    Rotate {
        file: String,
        pos: u64,
    },
    TableMap {
        id: u64,
        schema: String,
        table: String,
    },
    Rows {
        table_id: u64,
    },
    /// A transaction's commit (`XID`), ending at `end`.
    Commit {
        end: u64,
    },
    /// A statement: `BEGIN`, `COMMIT` (non-transactional tables), DDL, or statement-logged
    /// DML.
    Query {
        schema: String,
        query: String,
        end: u64,
    },
    /// Anything else (format description, heartbeat, GTID, ...).
    Other,
}

/// Reduces an event; an event that does not parse counts as [`Seen::Other`], except a rows
/// event, which counts as a change to an unknown table (the safe side).
pub fn classify(event: &Event) -> Seen {
    let header = event.header();
    let end = u64::from(header.log_pos());
    let raw = header.event_type_raw();
    let is = |t: EventType| raw == t as u8;
    if is(EventType::ROTATE_EVENT) {
        // The artificial rotate that opens every stream only repeats the file asked for. It
        // also arrives before the format description, so the event reader cannot know to
        // strip its checksum, which then trails the file name: trust only real rotates.
        let artificial = end == 0 || header.flags_raw() & LOG_EVENT_ARTIFICIAL_F != 0;
        if artificial {
            return Seen::Other;
        }
        return match event.read_event::<RotateEvent<'_>>() {
            Ok(r) => Seen::Rotate {
                file: r.name().into_owned(),
                pos: r.position(),
            },
            Err(_) => Seen::Other,
        };
    }
    if is(EventType::TABLE_MAP_EVENT) {
        return match event.read_event::<TableMapEvent<'_>>() {
            Ok(t) => Seen::TableMap {
                id: t.table_id(),
                schema: t.database_name().into_owned(),
                table: t.table_name().into_owned(),
            },
            Err(_) => Seen::Other,
        };
    }
    if is(EventType::XID_EVENT) {
        return Seen::Commit { end };
    }
    if is(EventType::QUERY_EVENT) {
        return match event.read_event::<QueryEvent<'_>>() {
            Ok(q) => Seen::Query {
                schema: q.schema().into_owned(),
                query: q.query().chars().take(4096).collect(),
                end,
            },
            Err(_) => Seen::Other,
        };
    }
    let rows = [
        EventType::WRITE_ROWS_EVENT_V1,
        EventType::UPDATE_ROWS_EVENT_V1,
        EventType::DELETE_ROWS_EVENT_V1,
        EventType::WRITE_ROWS_EVENT,
        EventType::UPDATE_ROWS_EVENT,
        EventType::DELETE_ROWS_EVENT,
        EventType::PARTIAL_UPDATE_ROWS_EVENT,
    ];
    if rows.into_iter().any(is) {
        return match event.read_data() {
            Ok(Some(EventData::RowsEvent(r))) => Seen::Rows {
                table_id: r.table_id(),
            },
            _ => Seen::Rows { table_id: u64::MAX },
        };
    }
    Seen::Other
}

/// The watcher's reading of the stream: where it is, and whether the transaction under way
/// touched the table.
#[derive(Debug, Clone)]
pub struct Follower {
    schema: String,
    /// Table ids mapped in this stream: `true` for ours.
    tables: HashMap<u64, bool>,
    /// The transaction under way changed the table.
    dirty: bool,
    /// The last commit boundary seen: where a reconnect resumes.
    pub position: Position,
}

impl Follower {
    pub fn new(schema: &str, position: Position) -> Follower {
        Follower {
            schema: schema.to_owned(),
            tables: HashMap::new(),
            dirty: false,
            position,
        }
    }

    /// A new stream starts (after a reconnect): table ids are per stream.
    pub fn restart(&mut self) {
        self.tables.clear();
        self.dirty = false;
    }

    /// Takes one event; `true` when a committed change to the table is complete.
    pub fn observe(&mut self, seen: Seen) -> bool {
        match seen {
            Seen::Rotate { file, pos } => {
                if !file.is_empty() {
                    self.position = Position { file, pos };
                }
                false
            }
            Seen::TableMap { id, schema, table } => {
                if self.tables.len() >= MAX_TABLE_IDS {
                    self.tables.clear();
                }
                self.tables
                    .insert(id, schema == self.schema && table == TABLE);
                false
            }
            Seen::Rows { table_id } => {
                // Unknown ids count as ours: see the module docs.
                if self.tables.get(&table_id).copied().unwrap_or(true) {
                    self.dirty = true;
                }
                false
            }
            Seen::Commit { end } => {
                self.advance(end);
                std::mem::take(&mut self.dirty)
            }
            Seen::Query { schema, query, end } => {
                let statement = query.trim();
                if statement.eq_ignore_ascii_case("BEGIN") {
                    return false;
                }
                self.advance(end);
                let names_table =
                    schema == self.schema && statement.to_ascii_lowercase().contains(TABLE);
                std::mem::take(&mut self.dirty) || names_table
            }
            Seen::Other => false,
        }
    }

    fn advance(&mut self, end: u64) {
        // Artificial events carry no position.
        if end > 0 {
            self.position.pos = end;
        }
    }
}

/// What the watcher needs.
#[derive(Debug, Clone)]
pub struct BinlogWatch {
    /// The refresher's database options (the same user; no pool is made).
    pub opts: Opts,
    /// Bound on connecting and on each check.
    pub timeout: Duration,
}

/// Why one stream ended.
#[derive(Debug, thiserror::Error)]
enum Ended {
    #[error("{0}")]
    Failed(String),
    #[error("no event or heartbeat for {0:?}")]
    Silent(Duration),
    #[error("the server ended the stream")]
    Closed,
    #[error("the position {0} is gone from the server (purged?)")]
    PositionGone(Position),
}

/// Follows the binary log until the task is aborted, or until [`check`] finds the server or
/// user unusable (then it reports [`SourceState::Unavailable`] and returns).
pub async fn run(watch: BinlogWatch, nudger: Nudger, state: watch::Sender<SourceState>) {
    let schema = watch.opts.db_name().unwrap_or_default().to_owned();
    let mut reconnect = Reconnect::new(RECONNECT_CAP);
    let mut follower: Option<Follower> = None;
    loop {
        state.send_replace(SourceState::Connecting);
        let ended = match connect(&watch).await {
            Err(e) => Ended::Failed(e),
            Ok(mut conn) => {
                let resume = match &follower {
                    Some(f) => Ok(f.position.clone()),
                    None => check(&mut conn, watch.timeout).await,
                };
                match resume {
                    Err(CheckError::Unusable(gaps)) => {
                        let reason = describe(&gaps);
                        error!("{reason}; refreshing on the interval (and on nudges) only");
                        state.send_replace(SourceState::Unavailable { reason });
                        let _ = conn.disconnect().await;
                        return;
                    }
                    Err(CheckError::Unreachable(e)) => Ended::Failed(e),
                    Ok(position) => {
                        let f = follower.get_or_insert_with(|| Follower::new(&schema, position));
                        f.restart();
                        stream(conn, f, &nudger, &state, &mut reconnect).await
                    }
                }
            }
        };
        if let Ended::PositionGone(_) = ended {
            // Start again from the server's current position; a change may have been missed.
            follower = None;
            nudger.nudge();
        }
        reconnect
            .lost("binlog stream", ended.to_string(), &state)
            .await;
    }
}

async fn connect(watch: &BinlogWatch) -> Result<Conn, String> {
    match timeout(watch.timeout, Conn::new(watch.opts.clone())).await {
        Err(_) => Err(format!("connecting timed out after {:?}", watch.timeout)),
        Ok(Err(e)) => Err(e.to_string()),
        Ok(Ok(c)) => Ok(c),
    }
}

/// One stream, from the dump request until it ends.
async fn stream(
    mut conn: Conn,
    follower: &mut Follower,
    nudger: &Nudger,
    state: &watch::Sender<SourceState>,
    reconnect: &mut Reconnect,
) -> Ended {
    let heartbeat_ns = HEARTBEAT.as_nanos();
    if let Err(e) = conn
        .query_drop(format!("SET @master_heartbeat_period = {heartbeat_ns}"))
        .await
    {
        return Ended::Failed(e.to_string());
    }
    // A random replica id: a second client with the same id makes the server drop the first,
    // and real replicas use small ones.
    let server_id = fastrand::u32(1 << 30..);
    let start = follower.position.clone();
    let request = BinlogStreamRequest::new(server_id)
        .with_filename(start.file.as_bytes())
        .with_pos(start.pos);
    let mut events = match conn.get_binlog_stream(request).await {
        Ok(s) => s,
        Err(e) => return Ended::Failed(e.to_string()),
    };
    let mut announced = false;
    let mut nudge_at: Option<Instant> = None;
    loop {
        let settle = async {
            match nudge_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let next = tokio::select! {
            next = timeout(SILENCE_LIMIT, events.next()) => next,
            () = settle => {
                nudge_at = None;
                nudger.nudge();
                continue;
            }
        };
        let event = match next {
            Err(_) => return Ended::Silent(SILENCE_LIMIT),
            Ok(None) => return Ended::Closed,
            Ok(Some(Err(mysql_async::Error::Server(e))))
                if e.code == ER_MASTER_FATAL_ERROR_READING_BINLOG =>
            {
                warn!(position = %start, error = %e.message, "binlog position refused");
                return Ended::PositionGone(start);
            }
            Ok(Some(Err(e))) => return Ended::Failed(e.to_string()),
            Ok(Some(Ok(event))) => event,
        };
        if !announced {
            announced = true;
            reconnect.succeeded();
            info!(from = %follower.position, "following the binary log");
            state.send_replace(SourceState::Up);
        }
        if follower.observe(classify(&event)) && nudge_at.is_none() {
            nudge_at = Some(Instant::now() + SETTLE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(file: &str, pos: u64) -> Position {
        Position {
            file: file.into(),
            pos,
        }
    }

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

    fn map(id: u64, schema: &str, table: &str) -> Seen {
        Seen::TableMap {
            id,
            schema: schema.into(),
            table: table.into(),
        }
    }

    #[test]
    fn only_our_table_in_our_database_counts() {
        let mut f = Follower::new("game", pos("bin.000001", 4));
        // An update of another table, then of `constants` in another database.
        for (id, schema, table) in [(7, "game", "players"), (8, "other", "constants")] {
            assert!(!f.observe(map(id, schema, table)));
            assert!(!f.observe(Seen::Rows { table_id: id }));
            assert!(!f.observe(Seen::Commit { end: 100 + id }));
        }
        assert_eq!(f.position, pos("bin.000001", 108));
        // Ours: the change completes at the commit, once.
        assert!(!f.observe(map(9, "game", "constants")));
        assert!(!f.observe(Seen::Rows { table_id: 9 }));
        assert!(!f.observe(Seen::Rows { table_id: 9 }));
        assert!(f.observe(Seen::Commit { end: 200 }));
        assert!(!f.observe(Seen::Commit { end: 300 }), "only once");
    }

    #[test]
    fn statements_and_non_transactional_commits() {
        let mut f = Follower::new("game", pos("bin.000001", 4));
        let q = |schema: &str, query: &str, end| Seen::Query {
            schema: schema.into(),
            query: query.into(),
            end,
        };
        assert!(!f.observe(q("game", "BEGIN", 0)));
        assert!(!f.observe(map(3, "game", "constants")));
        assert!(!f.observe(Seen::Rows { table_id: 3 }));
        assert!(f.observe(q("game", "COMMIT", 50)), "Aria/MyISAM commit");
        assert_eq!(f.position.pos, 50);
        assert!(f.observe(q("game", "TRUNCATE TABLE Constants", 60)));
        assert!(!f.observe(q("other", "TRUNCATE TABLE constants", 70)));
        assert!(!f.observe(q("game", "CREATE TABLE players (id INT)", 80)));
    }

    #[test]
    fn rotation_and_reconnects() {
        let mut f = Follower::new("game", pos("bin.000001", 4));
        assert!(!f.observe(Seen::Rotate {
            file: "bin.000002".into(),
            pos: 4
        }));
        assert_eq!(f.position, pos("bin.000002", 4));
        // Artificial events (position 0) do not move the resume point.
        assert!(!f.observe(Seen::Commit { end: 0 }));
        assert_eq!(f.position, pos("bin.000002", 4));
        // A rows event for a table not mapped in this stream counts (after a reconnect).
        f.restart();
        assert!(!f.observe(Seen::Rows { table_id: 42 }));
        assert!(f.observe(Seen::Commit { end: 900 }));
    }

    #[test]
    fn the_table_map_memory_is_bounded() {
        let mut f = Follower::new("game", pos("b", 4));
        for id in 0..(MAX_TABLE_IDS as u64 * 3) {
            f.observe(map(id, "game", "players"));
        }
        assert!(f.tables.len() <= MAX_TABLE_IDS);
    }
}
