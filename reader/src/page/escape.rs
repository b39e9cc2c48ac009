//! Escaping for HTML text and double-quoted attributes, with a cut to a bound.
//!
//! Every string the page prints that did not come from this crate (names, notices) goes
//! through [`push`]: the stored page is written by the refresher from operator input, and a
//! name with `<script>` or `"` must show as text, never become markup. One function for
//! text and attributes alike (attributes are always double-quoted), so there is no second
//! rule to forget.

/// Appends `s`, escaped for HTML text and double-quoted attribute values, cut to at most
/// `max_chars` characters (an ellipsis marks the cut). Control characters other than tab
/// and newline, and Unicode's noncharacters, are dropped: HTML forbids them (the Nu HTML
/// Checker calls them errors) and they say nothing to a reader.
pub fn push(out: &mut String, s: &str, max_chars: usize) {
    for (i, c) in s.chars().enumerate() {
        if i == max_chars {
            out.push('…');
            return;
        }
        match (crate::markup::entity(c), c) {
            (Some(entity), _) => out.push_str(entity),
            (None, '\t' | '\n') => out.push(' '),
            (None, c) if c.is_control() || is_noncharacter(c) => {}
            (None, c) => out.push(c),
        }
    }
}

/// U+FDD0–U+FDEF and the last two code points of every plane.
fn is_noncharacter(c: char) -> bool {
    let c = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&c) || c & 0xFFFE == 0xFFFE
}

/// [`push`] into a new string.
pub fn escaped(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max_chars * 2));
    push(&mut out, s, max_chars);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_quotes_are_text() {
        assert_eq!(
            escaped(r#"<script>alert("x")</script> & 'y'"#, 100),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(escaped("a\u{0}b\u{1b}c\nd", 100), "abc d");
        assert_eq!(
            escaped("a\u{85}\u{FDD0}\u{FDEF}\u{FFFE}\u{10FFFF}\u{1FFFE}b", 100),
            "ab"
        );
        assert_eq!(
            escaped("\u{FDCF}\u{FDF0}\u{FFFD}", 100),
            "\u{FDCF}\u{FDF0}\u{FFFD}"
        );
        assert_eq!(escaped("Сервер №1", 100), "Сервер №1");
    }

    #[test]
    fn cuts_by_characters() {
        assert_eq!(escaped("абвгд", 3), "абв…");
        assert_eq!(escaped("abc", 3), "abc");
        assert_eq!(escaped(&"<".repeat(10_000), 4), "&lt;&lt;&lt;&lt;…");
    }
}
