//! The badge's query options: `label`, `style`, `lang` and `show` (rates and `players`).
//!
//! Anything a badge URL can carry is checked here, before any text reaches the SVG. A value
//! that cannot be drawn honestly is refused with a 400, never "cleaned up": control
//! characters (invisible, and not even legal XML), Unicode bidi controls (they can make
//! `online` appear in a label that says something else) and labels too long to be a label.
//! Unknown parameters are ignored, so cache-busters such as `?v=2` keep working.
//!
//! `label=$name` asks for the game server's own name (the document's `server.name`, which
//! the game reports): it is untrusted text too, so it is cut and cleaned the same way
//! before it is drawn, never refused (a badge must still draw for a server with an odd name).

use std::borrow::Cow;

use serde::Deserialize;

use super::svg::Style;
use super::words::{Lang, Shown};
use crate::error::OptionError;
use crate::query::{pairs, query_of};

/// Longest label, in characters. shields allows more, but a status badge label is a name.
pub const MAX_LABEL_CHARS: usize = 64;

/// The `label` value that means "the server's own name". `$` cannot start a name anyone
/// would type as a label by accident, and needs no escaping in a query string.
pub const SERVER_NAME_LABEL: &str = "$name";

/// The options of one badge request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadgeOptions {
    /// `None`: the language's default label ("server" / "сервер").
    pub label: Option<String>,
    /// `label=$name`: the endpoint sets `label` from the document ([`server_name`]).
    pub server_name: bool,
    pub style: Style,
    pub lang: Lang,
    /// Rates and the players count appended to the message, in the order asked, without
    /// repeats.
    pub show: Vec<Shown>,
}

impl BadgeOptions {
    /// Parses the options from a request target (`/server/status/badge.svg?label=…`).
    pub fn from_target(target: &str) -> Result<BadgeOptions, OptionError> {
        let mut options = BadgeOptions {
            label: None,
            server_name: false,
            style: Style::Flat,
            lang: Lang::En,
            show: Vec::new(),
        };
        for (name, value) in pairs(query_of(target)).map_err(|_| OptionError::Query)? {
            match name.as_str() {
                "label" => {
                    options.server_name = value == SERVER_NAME_LABEL;
                    options.label = match options.server_name {
                        true => None,
                        false => Some(checked_label(value)?),
                    };
                }
                "style" => options.style = Style::parse(&value).ok_or(OptionError::Style)?,
                "lang" => options.lang = Lang::parse(&value).ok_or(OptionError::Lang)?,
                "show" => {
                    for item in value.split(',').filter(|s| !s.is_empty()) {
                        let shown = Shown::parse(item).ok_or(OptionError::Show)?;
                        if !options.show.contains(&shown) {
                            options.show.push(shown);
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(options)
    }

    /// The label to draw.
    pub fn label(&self) -> &str {
        self.label.as_deref().unwrap_or(self.lang.default_label())
    }
}

fn checked_label(label: String) -> Result<String, OptionError> {
    if label.chars().count() > MAX_LABEL_CHARS {
        return Err(OptionError::LabelTooLong);
    }
    if label.chars().any(forbidden) {
        return Err(OptionError::LabelCharacters);
    }
    Ok(label)
}

/// The document's `server.name` fit for a label: the characters a label may not hold
/// dropped, cut to [`MAX_LABEL_CHARS`], trimmed; `None` when the document has no name (or
/// nothing is left). A second, small parse of the stored bytes, only for `label=$name`.
pub fn server_name(document: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Document<'a> {
        #[serde(default, borrow)]
        server: Option<Server<'a>>,
    }
    #[derive(Deserialize)]
    struct Server<'a> {
        #[serde(default, borrow)]
        name: Option<Cow<'a, str>>,
    }
    // `from_str`, as the document's own parse: `from_slice` would link a second parser.
    let text = std::str::from_utf8(document).ok()?;
    let document: Document<'_> = serde_json::from_str(text).ok()?;
    let name = document.server?.name?;
    let cleaned: String = name
        .chars()
        .filter(|c| !forbidden(*c))
        .take(MAX_LABEL_CHARS)
        .collect();
    let trimmed = cleaned.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// Characters a label may not contain: controls (C0, DEL, C1), the bidi embedding,
/// override and isolate controls, line/paragraph separators, and the XML non-characters.
fn forbidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{2028}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
                | '\u{FFFE}' | '\u{FFFF}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> Result<BadgeOptions, OptionError> {
        BadgeOptions::from_target(&format!("/server/status/badge.svg{q}"))
    }

    #[test]
    fn defaults() {
        let o = parse("").unwrap();
        assert_eq!(
            (o.style, o.lang, o.label()),
            (Style::Flat, Lang::En, "server")
        );
        assert!(o.show.is_empty());
        assert_eq!(parse("?lang=ru").unwrap().label(), "сервер");
        assert_eq!(parse("?v=2&utm_source=x").unwrap(), parse("").unwrap());
    }

    #[test]
    fn every_option() {
        use super::super::words::RateName;
        let o = parse(
            "?label=My+Realm&style=for-the-badge&lang=ru&show=exp,players,pvp&show=exp,skill,players",
        )
        .unwrap();
        assert_eq!(o.label(), "My Realm");
        assert_eq!(o.style, Style::ForTheBadge);
        assert_eq!(o.lang, Lang::Ru);
        assert_eq!(
            o.show,
            [
                Shown::Rate(RateName::Exp),
                Shown::Players,
                Shown::Rate(RateName::Pvp),
                Shown::Rate(RateName::Skill)
            ]
        );
        assert_eq!(
            parse("?label=").unwrap().label(),
            "",
            "empty label: message only"
        );
        assert_eq!(
            parse("?style=flat-square").unwrap().style,
            Style::FlatSquare
        );
    }

    #[test]
    fn hostile_labels() {
        // Markup is allowed (it is escaped when drawn), and so is right-to-left text.
        assert_eq!(
            parse("?label=%3Cscript%3Ealert(1)%3C/script%3E")
                .unwrap()
                .label(),
            "<script>alert(1)</script>"
        );
        assert_eq!(parse("?label=%D7%A9%D7%A8%D7%AA").unwrap().label(), "שרת");
        let at_limit = "a".repeat(MAX_LABEL_CHARS);
        assert!(parse(&format!("?label={at_limit}")).is_ok());
        assert_eq!(
            parse(&format!("?label={at_limit}a")),
            Err(OptionError::LabelTooLong)
        );
        for bad in [
            "%00",
            "%0A",
            "%7F",
            "%C2%85",
            "%E2%80%AE",
            "%E2%81%A6",
            "%E2%80%8F",
        ] {
            assert_eq!(
                parse(&format!("?label=x{bad}")),
                Err(OptionError::LabelCharacters),
                "{bad}"
            );
        }
        assert_eq!(parse("?label=%ZZ"), Err(OptionError::Query));
    }

    #[test]
    fn the_length_in_the_message_is_the_limit() {
        assert!(
            OptionError::LabelTooLong
                .message()
                .contains(&MAX_LABEL_CHARS.to_string())
        );
    }

    #[test]
    fn the_server_name_label() {
        let o = parse("?label=$name").unwrap();
        assert!(o.server_name);
        assert_eq!(o.label, None);
        assert_eq!(parse("?label=%24name").unwrap(), o, "encoded or not");
        // The last label wins, either way.
        let o = parse("?label=$name&label=x").unwrap();
        assert_eq!((o.server_name, o.label()), (false, "x"));
        assert!(parse("?label=x&label=$name").unwrap().server_name);
        assert!(!parse("?label=name").unwrap().server_name);
    }

    #[test]
    fn server_names_are_cleaned_not_refused() {
        let doc = |name: serde_json::Value| {
            serde_json::to_vec(&serde_json::json!({"state": "online", "server": {"name": name}}))
                .unwrap()
        };
        assert_eq!(
            server_name(&doc("My Realm".into())),
            Some("My Realm".into())
        );
        assert_eq!(
            server_name(&doc("\u{202E}evil\u{0}\nname ".into())),
            Some("evilname".into())
        );
        let long = server_name(&doc("я".repeat(300).into())).unwrap();
        assert_eq!(long.chars().count(), MAX_LABEL_CHARS);
        for none in [
            doc(serde_json::Value::Null),
            doc(" \u{7} ".into()),
            br#"{"state":"online"}"#.to_vec(),
            br#"{"server":null}"#.to_vec(),
            br#"{"server":{"name":5}}"#.to_vec(),
            b"not json".to_vec(),
        ] {
            assert_eq!(
                server_name(&none),
                None,
                "{}",
                String::from_utf8_lossy(&none)
            );
        }
    }

    #[test]
    fn bad_values() {
        for (query, error) in [
            ("?style=plastic", OptionError::Style),
            ("?lang=de", OptionError::Lang),
            ("?show=exp,gold", OptionError::Show),
            ("?show=player", OptionError::Show),
        ] {
            assert_eq!(parse(query), Err(error), "{query}");
        }
    }
}
