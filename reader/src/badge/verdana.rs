//! Text widths in Verdana at 11 px, the font shields.io badges are laid out for.
//!
//! A badge is a fixed-size SVG: its width is decided on the server, long before any browser
//! picks a font. So the server needs the advance width of every character, as shields does
//! (its `anafanafo` package measures the same font). The table holds the advance widths of
//! Verdana Regular at 11 px, in hundredths of a pixel, for the blocks a Russian/English game
//! site writes: Basic Latin, Latin-1, Cyrillic and general punctuation (dashes, quotes, `…`).
//!
//! Characters outside the table (CJK, Arabic, Hebrew, emoji, ...) count as one em (11 px),
//! wider than nearly every glyph of the fallback fonts, so an estimate errs towards a wider
//! badge, never towards text that overflows. The SVG also pins each text run to its measured
//! width with `textLength`, so a browser that substitutes another font (Debian has no
//! Verdana; it draws DejaVu Sans) still fits the text into its box.

/// Font size the table is for, in px.
pub const TABLE_SIZE_PX: u64 = 11;

/// Width counted for a character the table does not cover: one em.
const FALLBACK_CENTI_PX: u16 = 1100;

/// U+0020..=U+007E.
const BASIC_LATIN: [u16; 95] = [
    387, 433, 505, 900, 699, 1184, 799, 295, 500, 500, 699, 900, 400, 500, 400, 500, 699, 699, 699,
    699, 699, 699, 699, 699, 699, 699, 500, 500, 900, 900, 900, 600, 1100, 752, 754, 768, 848, 696,
    632, 853, 827, 463, 500, 762, 612, 927, 823, 866, 663, 866, 765, 752, 678, 805, 752, 1088, 754,
    677, 754, 500, 500, 500, 900, 699, 699, 661, 685, 573, 685, 655, 387, 685, 696, 302, 379, 651,
    302, 1070, 696, 668, 685, 685, 469, 573, 433, 696, 651, 900, 651, 651, 578, 698, 500, 698, 900,
];

/// U+00A0..=U+00FF.
const LATIN_1: [u16; 96] = [
    387, 433, 699, 699, 699, 699, 500, 699, 699, 1100, 600, 709, 900, 0, 1100, 699, 596, 900, 596,
    596, 699, 706, 699, 400, 699, 596, 600, 709, 1100, 1100, 1100, 600, 752, 752, 752, 752, 752,
    752, 1083, 768, 696, 696, 696, 696, 463, 463, 463, 463, 853, 823, 866, 866, 866, 866, 866, 900,
    866, 805, 805, 805, 805, 677, 666, 682, 661, 661, 661, 661, 661, 661, 1051, 573, 655, 655, 655,
    655, 302, 302, 302, 302, 673, 696, 668, 668, 668, 668, 668, 900, 668, 696, 696, 696, 696, 651,
    685, 651,
];

/// U+0400..=U+045F.
const CYRILLIC: [u16; 96] = [
    696, 696, 872, 623, 771, 752, 463, 463, 500, 1230, 1213, 900, 762, 826, 677, 827, 752, 754,
    754, 623, 820, 696, 1070, 677, 826, 826, 762, 808, 927, 827, 866, 827, 663, 768, 678, 677, 901,
    754, 837, 783, 1133, 1149, 862, 1012, 749, 771, 1138, 777, 661, 676, 654, 518, 684, 655, 878,
    577, 704, 704, 651, 683, 766, 701, 668, 701, 685, 588, 546, 651, 925, 651, 709, 666, 964, 976,
    705, 874, 628, 602, 923, 660, 655, 655, 696, 518, 602, 573, 302, 302, 379, 1005, 1005, 696,
    651, 704, 651, 701,
];

/// U+2010..=U+203A.
const PUNCTUATION: [u16; 43] = [
    636, 636, 699, 699, 1100, 1100, 309, 699, 295, 295, 295, 295, 505, 505, 505, 505, 699, 699,
    600, 517, 367, 733, 900, 348, 0, 0, 0, 0, 0, 0, 0, 193, 1674, 1491, 397, 613, 613, 358, 596,
    835, 388, 500, 500,
];

/// Advance width of `c` at 11 px, in hundredths of a pixel. Control and zero-width
/// characters count as 0 (the badge refuses control characters before measuring).
fn centi_px(c: char) -> u16 {
    let code = c as u32;
    let block = |table: &[u16], first: u32| table.get((code - first) as usize).copied();
    let width = match code {
        0x20..=0x7E => block(&BASIC_LATIN, 0x20),
        0xA0..=0xFF => block(&LATIN_1, 0xA0),
        0x400..=0x45F => block(&CYRILLIC, 0x400),
        0x2010..=0x203A => block(&PUNCTUATION, 0x2010),
        0..=0x1F | 0x7F..=0x9F | 0x200B..=0x200F | 0x2060..=0x206F | 0xFE00..=0xFE0F => Some(0),
        _ => None,
    };
    width.unwrap_or(FALLBACK_CENTI_PX)
}

/// Width of `text` set in Verdana at `size_px`, in hundredths of a px, rounded up (no
/// kerning, as shields). Integer arithmetic on purpose: float formatting would add tens of
/// KB to the `.wasm`.
pub fn text_width(text: &str, size_px: u64) -> u64 {
    let centi: u64 = text.chars().map(|c| u64::from(centi_px(c))).sum();
    (centi * size_px).div_ceil(TABLE_SIZE_PX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_glyphs() {
        // Verdana's advance widths at 11 px: narrow i/l, wide m/W, digits all equal.
        assert_eq!(centi_px(' '), 387);
        assert_eq!(centi_px('i'), 302);
        assert_eq!(centi_px('m'), 1070);
        assert_eq!(centi_px('W'), 1088);
        assert!(('0'..='9').all(|d| centi_px(d) == 699));
        assert_eq!(centi_px('×'), 900);
        assert_eq!(centi_px('о'), 668, "Cyrillic o");
        assert_eq!(centi_px('…'), 900);
    }

    #[test]
    fn words() {
        // s e r v e r = 5.73 + 6.55 + 4.69 + 6.51 + 6.55 + 4.69
        assert_eq!(text_width("server", 11), 3472);
        assert_eq!(text_width("онлайн", 11), 4118);
        assert_eq!(text_width("", 11), 0);
        // Scales with the size, rounding up: 3472 * 10 / 11 = 3156.36...
        assert_eq!(text_width("server", 22), 6944);
        assert_eq!(text_width("server", 10), 3157);
    }

    #[test]
    fn unknown_characters_are_wide_not_zero() {
        assert_eq!(centi_px('字'), FALLBACK_CENTI_PX);
        assert_eq!(centi_px('ש'), FALLBACK_CENTI_PX);
        assert_eq!(centi_px('😀'), FALLBACK_CENTI_PX);
        assert_eq!(centi_px('\u{200B}'), 0, "zero-width space");
    }

    #[test]
    fn every_table_entry_is_a_plausible_width() {
        for table in [&BASIC_LATIN[..], &LATIN_1, &CYRILLIC, &PUNCTUATION] {
            assert!(
                table.iter().all(|&w| w <= 1700),
                "no glyph is wider than 1.55 em"
            );
        }
        assert_eq!(BASIC_LATIN.len(), 0x7E - 0x20 + 1);
        assert_eq!(CYRILLIC.len(), 0x45F - 0x400 + 1);
    }
}
