//! One binlog event reduced to what the watcher decides on ([`Seen`]): a rotation, a table
//! map, a rows event, a commit, a statement, or nothing of interest.

use mysql_async::binlog::EventType;
use mysql_async::binlog::events::{Event, EventData, QueryEvent, RotateEvent, TableMapEvent};

/// The header flag of events the server made up for the stream (not in the file).
const LOG_EVENT_ARTIFICIAL_F: u16 = 0x20;

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
