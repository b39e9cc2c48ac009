//! The one escaping table of everything the reader writes as markup (the badge's SVG, the
//! status page's HTML): a stored string is always text, never markup, in character data
//! and in quoted attribute values alike.

/// The entity that stands for `c` in markup, if `c` needs one.
pub fn entity(c: char) -> Option<&'static str> {
    match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '"' => Some("&quot;"),
        '\'' => Some("&#39;"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_five_that_matter() {
        let escaped: String = "<a href=\"x\" title='y'>&</a>"
            .chars()
            .map(|c| entity(c).map_or(c.to_string(), str::to_owned))
            .collect();
        assert_eq!(
            escaped,
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }
}
