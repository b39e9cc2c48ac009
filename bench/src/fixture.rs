//! The fixture: the demo `constants` table, and generated rows that pad it for the
//! refresher's scaling runs.
//!
//! The demo table is `xtask/fixtures/demo_constants.sql`, the one `cargo xtask up` seeds
//! (the seven mapped constants and 35 others, Cyrillic descriptions, ~4–5 KB of JSON): the
//! bench measures the table an operator sees, and its rows live in one place.

/// The demo table's script, compiled in so every run measures the same table.
pub const DEMO_SQL: &str = include_str!("../../xtask/fixtures/demo_constants.sql");

/// One row: name, value as stored (text), description.
pub type Row = (String, String, String);

/// Generated constants numbered `from..to`: what pads the demo table up to a size.
pub fn padding(from: usize, to: usize) -> Vec<Row> {
    (from..to)
        .map(|i| {
            (
                format!("Generated{i:06}"),
                (i % 997).to_string(),
                format!("Сгенерированная константа номер {i}"),
            )
        })
        .collect()
}

/// Multi-row `INSERT` statements of at most `chunk` rows each, values escaped.
pub fn insert_statements(rows: &[Row], chunk: usize) -> Vec<String> {
    rows.chunks(chunk.max(1))
        .map(|chunk| {
            let values: Vec<String> = chunk
                .iter()
                .map(|(n, v, d)| format!("({}, {}, {})", quote(n), quote(v), quote(d)))
                .collect();
            format!(
                "INSERT INTO constants (Name, Value, Description) VALUES {}",
                values.join(", ")
            )
        })
        .collect()
}

/// A MySQL string literal (backslash and quote escaped; the fixture has no other specials).
fn quote(text: &str) -> String {
    // Backslashes first, so the escapes added after them are not escaped again.
    let escaped = text
        .replace('\\', "\\\\")
        .replace('\'', "''")
        .replace('\0', "\\0");
    format!("'{escaped}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_sizes_and_escaping() {
        assert!(padding(50, 40).is_empty());
        assert_eq!(padding(40, 1000).len(), 960);
        assert_eq!(padding(40, 50)[5].0, "Generated000045");
        let statements = insert_statements(&padding(0, 2500), 1000);
        assert_eq!(statements.len(), 3);
        assert_eq!(quote("a'b\\c"), "'a''b\\\\c'");
        assert_eq!(quote("a\0"), "'a\\0'");
    }
}
