//! CORS: `Access-Control-Allow-Origin` from the `cors_allow_origin` variable.
//!
//! `*` (the default) or a single origin is sent as configured on every response, so the
//! response does not depend on the request and needs no `Vary`. Several origins (separated
//! by commas or spaces) are matched against the request's `Origin`, echoed when allowed,
//! and then every response carries `Vary: Origin` so caches keep the variants apart.
//! An empty value turns CORS headers off.

use crate::route::ALLOW;

/// Preflight answers may be cached by browsers for a day; the policy changes only with a
/// redeploy.
pub const PREFLIGHT_MAX_AGE_S: u32 = 86_400;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cors {
    Off,
    Any,
    One(String),
    List(Vec<String>),
}

impl Cors {
    /// Parses the variable. Entries that could not be sent as a header value (control
    /// characters, non-ASCII) are dropped rather than breaking every response.
    pub fn parse(value: &str) -> Cors {
        let mut origins: Vec<String> = value
            .split([',', ' ', '\t'])
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic()))
            .map(str::to_owned)
            .collect();
        if origins.iter().any(|o| o == "*") {
            return Cors::Any;
        }
        match origins.len() {
            0 => Cors::Off,
            1 => Cors::One(origins.remove(0)),
            _ => Cors::List(origins),
        }
    }

    /// Headers for any response to a request with this `Origin`.
    pub fn headers(&self, origin: Option<&[u8]>) -> Vec<(&'static str, String)> {
        let allow = match self {
            Cors::Off => return Vec::new(),
            Cors::Any => "*".to_owned(),
            Cors::One(o) => o.clone(),
            Cors::List(list) => {
                let echoed = origin.and_then(|o| list.iter().find(|a| a.as_bytes() == o));
                let mut h = vec![("vary", "Origin".to_owned())];
                if let Some(o) = echoed {
                    h.push(("access-control-allow-origin", o.clone()));
                    h.push(("access-control-expose-headers", "ETag".to_owned()));
                }
                return h;
            }
        };
        vec![
            ("access-control-allow-origin", allow),
            // Cache-Control and Last-Modified are CORS-safelisted; ETag is not.
            ("access-control-expose-headers", "ETag".to_owned()),
        ]
    }

    /// The extra headers of an `OPTIONS` (preflight) answer.
    pub fn preflight_headers(&self) -> Vec<(&'static str, String)> {
        if *self == Cors::Off {
            return Vec::new();
        }
        vec![
            ("access-control-allow-methods", ALLOW.to_owned()),
            ("access-control-allow-headers", "If-None-Match".to_owned()),
            ("access-control-max-age", PREFLIGHT_MAX_AGE_S.to_string()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(h: &'a [(&'static str, String)], name: &str) -> Option<&'a str> {
        h.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn parse_forms() {
        assert_eq!(Cors::parse("*"), Cors::Any);
        assert_eq!(Cors::parse(""), Cors::Off);
        assert_eq!(Cors::parse("  "), Cors::Off);
        assert_eq!(
            Cors::parse("https://a.example"),
            Cors::One("https://a.example".into())
        );
        assert_eq!(
            Cors::parse("https://a.example, https://b.example"),
            Cors::List(vec!["https://a.example".into(), "https://b.example".into()])
        );
        assert_eq!(Cors::parse("https://a.example,*"), Cors::Any);
        assert_eq!(Cors::parse("bad\r\nheader"), Cors::Off);
    }

    #[test]
    fn fixed_values_need_no_vary() {
        let h = Cors::Any.headers(Some(b"https://x"));
        assert_eq!(get(&h, "access-control-allow-origin"), Some("*"));
        assert_eq!(get(&h, "vary"), None);
        let h = Cors::One("https://a".into()).headers(None);
        assert_eq!(get(&h, "access-control-allow-origin"), Some("https://a"));
        assert!(Cors::Off.headers(Some(b"https://x")).is_empty());
    }

    #[test]
    fn lists_echo_and_vary() {
        let c = Cors::parse("https://a https://b");
        let h = c.headers(Some(b"https://b"));
        assert_eq!(get(&h, "access-control-allow-origin"), Some("https://b"));
        assert_eq!(get(&h, "vary"), Some("Origin"));
        let h = c.headers(Some(b"https://evil"));
        assert_eq!(get(&h, "access-control-allow-origin"), None);
        assert_eq!(get(&h, "vary"), Some("Origin"));
        let h = c.headers(None);
        assert_eq!(get(&h, "access-control-allow-origin"), None);
    }

    #[test]
    fn preflight() {
        let h = Cors::Any.preflight_headers();
        assert_eq!(get(&h, "access-control-allow-methods"), Some(ALLOW));
        assert_eq!(get(&h, "access-control-max-age"), Some("86400"));
        assert!(Cors::Off.preflight_headers().is_empty());
    }
}
