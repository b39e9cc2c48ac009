//! The one definition of the game's `constants` table for every test. (The bench, like
//! `cargo xtask up`, loads the demo table of `xtask/fixtures/demo_constants.sql`, which
//! carries its own `CREATE TABLE`: the table an operator sees.)
//!
//! The refresher reads `SELECT Name, Value, Description FROM constants`; the game's real
//! table keeps values as text. Tests vary the column types (a `DOUBLE` value, a latin1
//! description, a case-sensitive name) to see how the refresher copes, so the types are
//! parameters and the shape — three columns, `Name` required, utf8mb4 — is fixed here.

/// The column types of a `constants` table. [`Columns::default`] is the game's own shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Columns<'a> {
    /// Type of `Name` (NOT NULL), e.g. `VARCHAR(64) COLLATE utf8mb4_bin`.
    pub name: &'a str,
    /// Type of `Value` (NULL allowed), e.g. `DOUBLE`, `INT`, `DECIMAL(10,2)`.
    pub value: &'a str,
    /// Type of `Description` (NULL allowed), e.g. `MEDIUMTEXT`.
    pub description: &'a str,
}

impl Default for Columns<'_> {
    fn default() -> Self {
        Columns {
            name: "VARCHAR(64)",
            value: "VARCHAR(255)",
            description: "TEXT",
        }
    }
}

impl Columns<'_> {
    /// The default shape with `Value` of type `value`.
    pub fn value(value: &str) -> Columns<'_> {
        Columns {
            value,
            ..Columns::default()
        }
    }

    /// `CREATE TABLE constants (...) CHARACTER SET utf8mb4` with these types.
    pub fn create_table(&self) -> String {
        format!(
            "CREATE TABLE constants (Name {} NOT NULL, Value {} NULL, Description {} NULL) \
             CHARACTER SET utf8mb4",
            self.name, self.value, self.description
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_shape() {
        assert_eq!(
            Columns::default().create_table(),
            "CREATE TABLE constants (Name VARCHAR(64) NOT NULL, Value VARCHAR(255) NULL, \
             Description TEXT NULL) CHARACTER SET utf8mb4"
        );
        let latin1 = Columns {
            description: "VARCHAR(255) CHARACTER SET latin1",
            ..Columns::value("DOUBLE")
        };
        assert!(
            latin1
                .create_table()
                .contains("Value DOUBLE NULL, Description VARCHAR(255) CHARACTER SET latin1 NULL")
        );
    }
}
