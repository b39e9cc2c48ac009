//! Query strings: `application/x-www-form-urlencoded` pairs, decoded and bounded.
//!
//! Hand-rolled (about forty lines) rather than a URL crate: the component ships as one
//! `.wasm` with a size budget, and the reader only ever needs "the decoded value of this
//! parameter". The target is already bounded by routing (`MAX_TARGET_BYTES`).

/// Why a query string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryError {
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// The decoded bytes are not UTF-8.
    NotUtf8,
}

/// The query of a request target (after `?`, before `#`); empty when there is none.
pub fn query_of(target: &str) -> &str {
    let target = target.split('#').next().unwrap_or("");
    target.split_once('?').map_or("", |(_, q)| q)
}

/// The decoded `(name, value)` pairs of `query`, in order. Empty segments (`a=1&&b=2`) are
/// skipped; a segment without `=` has an empty value.
pub fn pairs(query: &str) -> Result<Vec<(String, String)>, QueryError> {
    query
        .split('&')
        .filter(|segment| !segment.is_empty())
        .map(|segment| {
            let (name, value) = segment.split_once('=').unwrap_or((segment, ""));
            Ok((decode(name)?, decode(value)?))
        })
        .collect()
}

/// Percent-decodes `s`, with `+` as a space.
pub fn decode(s: &str) -> Result<String, QueryError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or(QueryError::BadEscape)?;
                let digit = |b: u8| char::from(b).to_digit(16).ok_or(QueryError::BadEscape);
                out.push((digit(hex[0])? * 16 + digit(hex[1])?) as u8);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| QueryError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn splits_and_decodes() {
        assert_eq!(query_of("/a?x=1#frag"), "x=1");
        assert_eq!(query_of("/a"), "");
        assert_eq!(
            pairs("label=My+server&lang=ru&&show&x=%D1%81%3C").unwrap(),
            vec![
                ("label".into(), "My server".into()),
                ("lang".into(), "ru".into()),
                ("show".into(), String::new()),
                ("x".into(), "с<".into()),
            ]
        );
        assert_eq!(pairs("").unwrap(), vec![]);
        assert_eq!(decode("a=b").unwrap(), "a=b");
    }

    #[test]
    fn refuses_broken_escapes() {
        for text in ["%", "%4", "%zz"] {
            assert_eq!(decode(text), Err(QueryError::BadEscape), "{text}");
        }
        // Well-formed escapes of bytes that are not UTF-8.
        for text in ["%FF", "%C3%28"] {
            assert_eq!(decode(text), Err(QueryError::NotUtf8), "{text}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,64}") {
            let _ = pairs(&s);
        }

        #[test]
        fn round_trips_percent_encoding(s in "\\PC{0,32}") {
            let encoded: String = s.bytes().map(|b| format!("%{b:02X}")).collect();
            prop_assert_eq!(decode(&encoded).unwrap(), s);
        }
    }
}
