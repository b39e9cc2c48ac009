//! Where the watcher is in the binary log and whether the transaction under way touched the
//! table: the pure state machine behind the stream, tested without a server.

use std::collections::HashMap;
use std::fmt;

use super::{Seen, TABLE};

/// Table ids remembered per stream; more are forgotten (and then count as changes).
const MAX_TABLE_IDS: usize = 4096;

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

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(file: &str, pos: u64) -> Position {
        Position {
            file: file.into(),
            pos,
        }
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
