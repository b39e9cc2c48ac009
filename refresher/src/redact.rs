//! Showing connection URLs without their secrets.
//!
//! `REDIS_URL` and `DATABASE_URL` may carry a password. They appear in the start-up line and
//! in configuration errors, so everything that prints them goes through [`RedactedUrl`].
//! The rule errs towards hiding too much: whatever follows the first `:` of the user-info
//! part is replaced, and so is the value of any query parameter whose name suggests a
//! secret. Parsing is deliberately lenient (no URL crate): a malformed URL must still be
//! printed safely, because malformed URLs are exactly the ones that end up in error messages.

use std::fmt;

/// What a hidden secret is shown as.
pub const MASK: &str = "***";

/// Query parameter names (lower-cased substrings) whose values are hidden.
const SECRET_PARAMS: [&str; 4] = ["pass", "pwd", "secret", "token"];

/// Displays a URL with its password (and secret-looking query values) replaced by `***`.
#[derive(Clone, Copy)]
pub struct RedactedUrl<'a>(pub &'a str);

impl fmt::Display for RedactedUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self.0;
        let (scheme, rest) = match url.find("://") {
            Some(i) => url.split_at(i + 3),
            None => ("", url),
        };
        f.write_str(scheme)?;
        // The query starts at the first `?` or `#`; user info ends at the last `@` before it,
        // so a password that itself contains `@` or `/` is still hidden whole.
        let query_start = rest.find(['?', '#']).unwrap_or(rest.len());
        let (before_query, query) = rest.split_at(query_start);
        let host_and_path = match before_query.rfind('@') {
            Some(at) => {
                let userinfo = &before_query[..at];
                match userinfo.find(':') {
                    Some(colon) => write!(f, "{}:{MASK}@", &userinfo[..colon])?,
                    // No scheme means we cannot tell user from password: hide it all.
                    None if scheme.is_empty() => write!(f, "{MASK}@")?,
                    None => write!(f, "{userinfo}@")?,
                }
                &before_query[at + 1..]
            }
            None => before_query,
        };
        f.write_str(host_and_path)?;
        write_query(f, query)
    }
}

impl fmt::Debug for RedactedUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// Writes `?a=1&password=x#frag` with secret-looking values masked.
fn write_query(f: &mut fmt::Formatter<'_>, query: &str) -> fmt::Result {
    let mut rest = query;
    while !rest.is_empty() {
        // Each piece starts with its separator (`?`, `&`, `;` or `#`).
        let end = rest[1..]
            .find(['&', ';', '#'])
            .map_or(rest.len(), |i| i + 1);
        let (piece, tail) = rest.split_at(end);
        let (sep, pair) = piece.split_at(1);
        f.write_str(sep)?;
        match pair.split_once('=') {
            Some((name, _)) if is_secret_param(name) => write!(f, "{name}={MASK}")?,
            _ => f.write_str(pair)?,
        }
        rest = tail;
    }
    Ok(())
}

fn is_secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_PARAMS.iter().any(|s| name.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(url: &str) -> String {
        RedactedUrl(url).to_string()
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            r("mysql://game:hunter2@db.internal:3306/game"),
            "mysql://game:***@db.internal:3306/game"
        );
        assert_eq!(
            r("redis://:hunter2@127.0.0.1:6379/0"),
            "redis://:***@127.0.0.1:6379/0"
        );
        assert_eq!(r("redis://user:p%40ss@host/0"), "redis://user:***@host/0");
    }

    #[test]
    fn awkward_passwords_are_hidden_whole() {
        for url in [
            "mysql://u:p@ss@host/db",
            "mysql://u:p/ss@host/db",
            "mysql://u:p:ss@host/db",
        ] {
            let shown = r(url);
            assert!(!shown.contains("ss@"), "{url} -> {shown}");
            assert!(shown.starts_with("mysql://u:***@"), "{url} -> {shown}");
        }
    }

    #[test]
    fn urls_without_secrets_are_unchanged() {
        for url in [
            "redis://127.0.0.1:6379/0",
            "mysql://root@127.0.0.1:3306/game",
            "mysql://localhost/db?pool_max=2",
            "unix:///run/redis.sock",
            "not a url",
            "",
        ] {
            assert_eq!(r(url), url);
        }
    }

    #[test]
    fn secret_query_values_are_hidden() {
        assert_eq!(
            r("mysql://h/db?user=a&password=x&pool_max=2"),
            "mysql://h/db?user=a&password=***&pool_max=2"
        );
        assert_eq!(
            r("redis://h/0?Token=abc#frag"),
            "redis://h/0?Token=***#frag"
        );
    }

    #[test]
    fn schemeless_user_info_is_hidden() {
        assert_eq!(r("user:pw@host"), "user:***@host");
        assert_eq!(r("secret@host"), "***@host");
    }

    #[test]
    fn debug_is_redacted_too() {
        let shown = format!("{:?}", RedactedUrl("redis://:pw@h"));
        assert_eq!(shown, "\"redis://:***@h\"");
    }
}
