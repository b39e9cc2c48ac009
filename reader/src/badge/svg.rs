//! The badge as SVG: two coloured boxes, a label and a message, laid out from measured text
//! widths (see [`verdana`](super::verdana)).
//!
//! The output is safe to serve as a document of its own and to inline into a page: every
//! string is escaped for XML text and attributes, there is no script, no `<foreignObject>`,
//! no `href` and no reference to anything outside the file (the only `url(#…)` references
//! point at the badge's own gradient and clip path). The caller still refuses control and
//! bidi-override characters in labels (see `options`), since escaping cannot make those
//! honest.

use std::fmt::Write as _;

use super::verdana::text_width;

/// The shields styles this reader draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// 20 px high, rounded corners, a light gradient (shields' default).
    Flat,
    /// 20 px high, square corners, no gradient.
    FlatSquare,
    /// 28 px high, upper-case 10 px text with extra letter spacing.
    ForTheBadge,
}

impl Style {
    pub fn parse(s: &str) -> Option<Style> {
        match s {
            "flat" => Some(Style::Flat),
            "flat-square" => Some(Style::FlatSquare),
            "for-the-badge" => Some(Style::ForTheBadge),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Style::Flat => "flat",
            Style::FlatSquare => "flat-square",
            Style::ForTheBadge => "for-the-badge",
        }
    }

    fn metrics(self) -> Metrics {
        match self {
            Style::Flat | Style::FlatSquare => Metrics {
                height: 20,
                font_px: 11,
                padding: 5,
                letter_spacing_centi: 0,
                baseline: 14,
            },
            Style::ForTheBadge => Metrics {
                height: 28,
                font_px: 10,
                padding: 12,
                letter_spacing_centi: 100,
                baseline: 18,
            },
        }
    }
}

/// Box geometry of one style.
///
/// Lengths are whole px or hundredths of a px (`_centi`): integer arithmetic keeps float
/// formatting, tens of KB of code, out of the `.wasm`.
struct Metrics {
    height: u64,
    font_px: u64,
    /// Space left and right of each text, px.
    padding: u64,
    /// Extra space after every character but the last.
    letter_spacing_centi: u64,
    /// Text baseline from the top, px.
    baseline: u64,
}

/// What to draw. `color` is a `#rrggbb` the caller chose (never user input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Badge<'a> {
    /// Left-hand text; empty draws a message-only badge.
    pub label: &'a str,
    pub message: &'a str,
    pub color: &'static str,
    pub style: Style,
}

/// Grey of the label box, as shields.
const LABEL_COLOR: &str = "#555";

/// One laid-out text run: its box and its pinned text length.
struct Run {
    text: String,
    /// Box width, whole px.
    width: u64,
    /// Measured text length, hundredths of a px.
    text_length: u64,
}

fn run(text: &str, m: &Metrics, upper: bool) -> Run {
    let text: String = if upper {
        text.chars().map(upper_case).collect()
    } else {
        text.to_owned()
    };
    let chars = text.chars().count() as u64;
    let spacing = m.letter_spacing_centi * chars.saturating_sub(1);
    let text_length = text_width(&text, m.font_px) + spacing;
    let width = if text.is_empty() {
        0
    } else {
        text_length.div_ceil(100) + 2 * m.padding
    };
    Run {
        text,
        width,
        text_length,
    }
}

/// Upper case for the blocks the width table covers (ASCII, Latin-1, Cyrillic); anything
/// else is drawn as written. `char::to_uppercase` would be exact everywhere, but its tables
/// cost 17 KB of `.wasm` for letters a status badge does not use.
fn upper_case(c: char) -> char {
    let shift = match c {
        'a'..='z' | 'à'..='ö' | 'ø'..='þ' | 'а'..='я' => 0x20,
        'ѐ'..='џ' => 0x50,
        _ => 0,
    };
    char::from_u32(c as u32 - shift).unwrap_or(c)
}

/// The badge's total width and height in px, as drawn by [`render`].
pub fn size(badge: &Badge) -> (u64, u64) {
    let m = badge.style.metrics();
    let upper = badge.style == Style::ForTheBadge;
    let w = run(badge.label, &m, upper).width + run(badge.message, &m, upper).width;
    (w, m.height)
}

/// Renders `badge` as a standalone SVG document.
pub fn render(badge: &Badge) -> String {
    let m = badge.style.metrics();
    let upper = badge.style == Style::ForTheBadge;
    let label = run(badge.label, &m, upper);
    let message = run(badge.message, &m, upper);
    let (lw, mw) = (label.width, message.width);
    let (w, h) = (lw + mw, m.height);
    let flat = badge.style == Style::Flat;

    let mut title = escape(badge.label);
    if !badge.label.is_empty() {
        title.push_str(": ");
    }
    title.push_str(&escape(badge.message));

    let mut s = String::with_capacity(1200 + 4 * (label.text.len() + message.text.len()));
    // `write!` into a String cannot fail.
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{title}"><title>{title}</title>"##
    );
    if flat {
        let _ = write!(
            s,
            r##"<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient><clipPath id="r"><rect width="{w}" height="{h}" rx="3" fill="#fff"/></clipPath><g clip-path="url(#r)">"##
        );
    } else {
        s.push_str("<g>");
    }
    if lw > 0 {
        let _ = write!(
            s,
            r##"<rect width="{lw}" height="{h}" fill="{LABEL_COLOR}"/>"##
        );
    }
    let _ = write!(
        s,
        r##"<rect x="{lw}" width="{mw}" height="{h}" fill="{}"/>"##,
        badge.color
    );
    if flat {
        let _ = write!(s, r##"<rect width="{w}" height="{h}" fill="url(#s)"/>"##);
    }
    let _ = write!(
        s,
        r##"</g><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="{}">"##,
        m.font_px
    );
    for (r, x0) in [(&label, 0), (&message, lw)] {
        if r.width == 0 {
            continue;
        }
        // Centre of the box, in tenths of a px (the width may be odd).
        let x = Fixed(x0 * 10 + r.width * 5, 1);
        let text = escape(&r.text);
        let len = Fixed(r.text_length, 2);
        if flat {
            // The 1 px drop shadow shields draws under flat text; hidden from screen readers.
            let _ = write!(
                s,
                r##"<text aria-hidden="true" x="{x}" y="{}" fill="#010101" fill-opacity=".3" textLength="{len}">{text}</text>"##,
                m.baseline + 1
            );
        }
        let _ = write!(
            s,
            r##"<text x="{x}" y="{}" textLength="{len}">{text}</text>"##,
            m.baseline
        );
    }
    s.push_str("</g></svg>");
    s
}

/// A non-negative fixed-point number: `Fixed(1234, 2)` displays as `12.34`.
struct Fixed(u64, u32);

impl std::fmt::Display for Fixed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scale = 10u64.pow(self.1);
        let width = self.1 as usize;
        write!(f, "{}.{:0width$}", self.0 / scale, self.0 % scale)
    }
}

/// Escapes `s` for XML character data and for double- or single-quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match crate::markup::entity(c) {
            Some(entity) => out.push_str(entity),
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn badge(label: &str, message: &str, style: Style) -> Badge<'static> {
        Badge {
            label: Box::leak(label.to_owned().into_boxed_str()),
            message: Box::leak(message.to_owned().into_boxed_str()),
            color: "#4c1",
            style,
        }
    }

    #[test]
    fn flat_layout_matches_the_measured_text() {
        let b = badge("server", "online", Style::Flat);
        let svg = render(&b);
        // "server" = 34.72 px -> 45 px box; "online" = 6.68+6.96+3.02+3.02+6.96+6.55 = 33.19 -> 44.
        assert_eq!(size(&b), (89, 20));
        assert!(
            svg.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" width="89" height="20""#)
        );
        assert!(svg.contains(r##"<rect width="45" height="20" fill="#555"/>"##));
        assert!(svg.contains(r##"<rect x="45" width="44" height="20" fill="#4c1"/>"##));
        assert!(svg.contains(r#"<text x="22.5" y="14" textLength="34.72">server</text>"#));
        assert!(svg.contains(r#"<text x="67.0" y="14" textLength="33.19">online</text>"#));
        assert!(svg.contains("<title>server: online</title>"));
        assert!(svg.contains(r#"rx="3""#), "flat has rounded corners");
    }

    #[test]
    fn styles() {
        let square = render(&badge("server", "online", Style::FlatSquare));
        assert!(!square.contains("rx=") && !square.contains("linearGradient"));
        let big = badge("server", "online", Style::ForTheBadge);
        let svg = render(&big);
        assert!(svg.contains(">SERVER</text>") && svg.contains(">ONLINE</text>"));
        assert_eq!(size(&big).1, 28);
        assert!(size(&big).0 > size(&badge("server", "online", Style::Flat)).0);
    }

    #[test]
    fn upper_case_agrees_with_unicode_where_it_applies() {
        for c in (0x20..0x7F)
            .chain(0xA0..0x100)
            .chain(0x400..0x460)
            .filter_map(char::from_u32)
        {
            let unicode: Vec<char> = c.to_uppercase().collect();
            let covered = |u: u32| {
                [0x20..0x7F, 0xA0..0x100, 0x400..0x460]
                    .iter()
                    .any(|r| r.contains(&u))
            };
            if unicode.len() == 1 && covered(unicode[0] as u32) {
                assert_eq!(upper_case(c), unicode[0], "{c}");
            } else {
                assert_eq!(upper_case(c), c, "{c} is left alone");
            }
        }
    }

    #[test]
    fn message_only() {
        let b = badge("", "online", Style::Flat);
        assert_eq!(size(&b), (44, 20));
        let svg = render(&b);
        assert!(!svg.contains("#555"));
        assert!(svg.contains("<title>online</title>"));
    }

    #[test]
    fn hostile_strings_are_inert() {
        let evil = r#"<script>alert(1)</script>" onload="x' &amp;"#;
        let svg = render(&badge(evil, "online", Style::Flat));
        assert!(!svg.contains("<script"));
        assert!(!svg.contains(r#"" onload"#));
        assert!(
            svg.contains(
                "&lt;script&gt;alert(1)&lt;/script&gt;&quot; onload=&quot;x&#39; &amp;amp;"
            )
        );
        // Nothing but the badge's own fragments is referenced.
        let body = svg.replacen(r#"xmlns="http://www.w3.org/2000/svg""#, "", 1);
        assert!(!body.contains("href") && !body.contains("http:") && !body.contains("https:"));
        assert_eq!(svg.matches("url(").count(), 2);
    }

    #[test]
    fn cyrillic_is_measured_not_guessed() {
        let b = badge("сервер", "онлайн", Style::Flat);
        let (w, _) = size(&b);
        // сервер = 5.88+6.55+6.85+6.54+6.55+6.85 = 39.22 -> 50; онлайн = 41.18 -> 52.
        assert_eq!(w, 102);
    }
}
