//! Turning a `constants.Value` cell into a number.
//!
//! The column's type differs between games and even between rows: DOUBLE, INT, DECIMAL,
//! a VARCHAR holding a number, a VARCHAR holding text, or NULL. Numbers parse; anything
//! else is reported so the caller can warn and keep the field's default.

/// One `Value` cell as the database driver delivered it.
#[derive(Debug, Clone, PartialEq)]
pub enum RowValue {
    Null,
    Int(i64),
    UInt(u64),
    Float(f64),
    /// Text or binary protocol bytes (VARCHAR, DECIMAL, or any number sent as text).
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("value is NULL")]
    Null,
    #[error("value is not a number: {0:?}")]
    NotANumber(String),
    #[error("value is not finite")]
    NotFinite,
}

/// Longest text we are willing to quote back in a warning.
const QUOTE_LIMIT: usize = 64;

impl RowValue {
    /// The cell as a finite `f64`.
    pub fn to_number(&self) -> Result<f64, ValueError> {
        let n = match self {
            RowValue::Null => return Err(ValueError::Null),
            RowValue::Int(i) => *i as f64,
            RowValue::UInt(u) => *u as f64,
            RowValue::Float(f) => *f,
            RowValue::Bytes(b) => parse_number(b)?,
        };
        if n.is_finite() {
            Ok(n)
        } else {
            Err(ValueError::NotFinite)
        }
    }
}

/// Parses a decimal number written as text (`"2"`, `" 1.50 "`, `"-3e2"`).
///
/// Rust's float grammar also accepts `inf`, `NaN` and `infinity`; JSON cannot carry those
/// and no game means them as a rate, so they are rejected.
pub fn parse_number(bytes: &[u8]) -> Result<f64, ValueError> {
    let not_a_number = || {
        let text = String::from_utf8_lossy(bytes);
        let quoted: String = text.chars().take(QUOTE_LIMIT).collect();
        ValueError::NotANumber(quoted)
    };
    let text = std::str::from_utf8(bytes)
        .map_err(|_| not_a_number())?
        .trim();
    let numeric = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
        && text.bytes().any(|b| b.is_ascii_digit());
    if !numeric {
        return Err(not_a_number());
    }
    let n: f64 = text.parse().map_err(|_| not_a_number())?;
    if n.is_finite() {
        Ok(n)
    } else {
        Err(ValueError::NotFinite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_column_type() {
        assert_eq!(RowValue::Int(-3).to_number(), Ok(-3.0));
        assert_eq!(RowValue::UInt(7).to_number(), Ok(7.0));
        assert_eq!(RowValue::Float(1.5).to_number(), Ok(1.5));
        assert_eq!(RowValue::Bytes(b"2.50".to_vec()).to_number(), Ok(2.5));
        assert_eq!(RowValue::Bytes(b" 10 ".to_vec()).to_number(), Ok(10.0));
        assert_eq!(RowValue::Bytes(b"1e3".to_vec()).to_number(), Ok(1000.0));
        assert_eq!(RowValue::Null.to_number(), Err(ValueError::Null));
        assert!(matches!(
            RowValue::Bytes("включен".as_bytes().to_vec()).to_number(),
            Err(ValueError::NotANumber(_))
        ));
        assert_eq!(
            RowValue::Float(f64::NAN).to_number(),
            Err(ValueError::NotFinite)
        );
    }

    #[test]
    fn words_that_rust_would_parse_are_rejected() {
        for text in ["inf", "NaN", "infinity", "-inf", "", " ", ".", "-", "e"] {
            assert!(parse_number(text.as_bytes()).is_err(), "{text:?}");
        }
        assert_eq!(parse_number(b"1e400"), Err(ValueError::NotFinite));
        assert!(parse_number(&[0xff, 0x31]).is_err());
    }

    #[test]
    fn quoted_text_is_bounded() {
        let long = vec![b'x'; 10_000];
        let Err(ValueError::NotANumber(q)) = parse_number(&long) else {
            panic!()
        };
        assert_eq!(q.len(), QUOTE_LIMIT);
    }

    proptest! {
        #[test]
        fn never_panics_and_is_finite(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(n) = parse_number(&bytes) {
                prop_assert!(n.is_finite());
            }
        }

        #[test]
        fn numbers_round_trip(n in -1.0e12f64..1.0e12) {
            prop_assert_eq!(parse_number(n.to_string().as_bytes()), Ok(n));
        }
    }
}
