//! How wide a text is in the PDFs' font, and how it breaks into lines that fit a column.
//!
//! Widths come from the font itself: each character's glyph and that glyph's advance in the
//! `hmtx` table, the same numbers printpdf writes into the PDF's width array, so a viewer
//! puts the text exactly where it is measured. Text is shown glyph by glyph without kerning
//! or ligatures, so a line's width is the sum of its characters' advances.

use printpdf::ParsedFont;

/// Millimetres in a point.
const MM_PER_PT: f32 = 25.4 / 72.0;
/// The advance of a character the font lacks: the PDF's default glyph width (`/DW`), which
/// printpdf sets to 1000 thousandths of an em.
const MISSING_GLYPH_EM: f32 = 1.0;

/// Glyph advances of one font.
pub struct Metrics<'a> {
    font: &'a ParsedFont,
    units_per_em: f32,
}

impl<'a> Metrics<'a> {
    pub fn new(font: &'a ParsedFont) -> Metrics<'a> {
        let units = font.pdf_font_metrics.units_per_em;
        Metrics {
            font,
            // A font without units per em would be broken; 1000 is the PostScript default.
            units_per_em: if units == 0 { 1000.0 } else { f32::from(units) },
        }
    }

    /// The advance of `c` in ems. A character the font lacks (CJK, emoji, control
    /// characters) is shown as glyph 0, `.notdef`, which printpdf leaves out of the PDF's
    /// width array: viewers advance it by the default width, one em, not by the font's
    /// own `.notdef` advance (0.6 em in DejaVu Sans), so it is measured as one em.
    fn em(&self, c: char) -> f32 {
        match self.font.lookup_glyph_index(u32::from(c)) {
            Some(glyph) => f32::from(self.font.get_horizontal_advance(glyph)) / self.units_per_em,
            None => MISSING_GLYPH_EM,
        }
    }

    /// The width of `text` set at `size` points, in millimetres; tests measure what was
    /// laid out with it.
    #[cfg(test)]
    pub fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.em(c)).sum::<f32>() * size * MM_PER_PT
    }

    /// `text` broken into lines at most `width` millimetres wide when set at `size` points
    /// (see [`wrap`]).
    pub fn wrap(&self, text: &str, size: f32, width: f32) -> Vec<String> {
        let scale = size * MM_PER_PT;
        wrap(text, width, |c| self.em(c) * scale)
    }
}

/// Breaks `text` into lines no wider than `max`, each character `advance(c)` wide.
///
/// Line breaks in `text` are kept (an address's lines stay lines), blank lines and runs of
/// spaces are dropped, and lines break at spaces. A word wider than a whole line (a long
/// e-mail address, an unbroken string) is cut between characters, without a hyphen: a
/// hyphen would read as part of a VAT number or an address. Every line holds at least one
/// character, so a column narrower than one glyph still terminates.
pub fn wrap(text: &str, max: f32, advance: impl Fn(char) -> f32) -> Vec<String> {
    let space = advance(' ');
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        let mut line_width = 0.0;
        for word in paragraph.split_whitespace() {
            let word_width: f32 = word.chars().map(&advance).sum();
            let needed = if line.is_empty() {
                word_width
            } else {
                line_width + space + word_width
            };
            if needed <= max {
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(word);
                line_width = needed;
                continue;
            }

            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            if word_width <= max {
                line.push_str(word);
                line_width = word_width;
                continue;
            }

            line_width = 0.0;
            for c in word.chars() {
                let w = advance(c);
                if !line.is_empty() && line_width + w > max {
                    lines.push(std::mem::take(&mut line));
                    line_width = 0.0;
                }
                line.push(c);
                line_width += w;
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character one unit wide.
    fn mono(text: &str, max: f32) -> Vec<String> {
        wrap(text, max, |_| 1.0)
    }

    #[test]
    fn words_fill_lines_and_break_at_spaces() {
        assert_eq!(mono("aa bb cc dd", 5.0), ["aa bb", "cc dd"]);
        assert_eq!(mono("aa bb cc dd", 4.0), ["aa", "bb", "cc", "dd"]);
        assert_eq!(mono("aa bb", 100.0), ["aa bb"]);
        assert_eq!(
            mono("  aa   bb  ", 100.0),
            ["aa bb"],
            "runs of spaces collapse"
        );
    }

    #[test]
    fn line_breaks_stay_and_blank_lines_go() {
        assert_eq!(
            mono("Rue 1\n\n1000 Brussels", 100.0),
            ["Rue 1", "1000 Brussels"]
        );
        assert_eq!(mono("a\r\nb", 100.0), ["a", "b"]);
        assert!(mono("", 10.0).is_empty());
        assert!(mono(" \n ", 10.0).is_empty());
    }

    #[test]
    fn a_word_wider_than_the_line_is_cut_between_characters() {
        assert_eq!(
            mono("ab abcdefgh cd", 3.0),
            ["ab", "abc", "def", "gh", "cd"]
        );
        assert_eq!(mono("Zoë", 1.0), ["Z", "o", "ë"], "characters, not bytes");
        assert_eq!(
            mono("abc", 0.5),
            ["a", "b", "c"],
            "one character a line at least"
        );
    }

    #[test]
    fn no_line_is_wider_than_asked() {
        let text = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod \
                    tempor incididunt ut labore et dolore magna aliqua.";
        let narrow = |c: char| if c == 'i' || c == 'l' { 0.4 } else { 1.0 };
        for max in [3.0, 7.5, 12.0, 40.0] {
            let lines = wrap(text, max, narrow);
            for line in &lines {
                let width: f32 = line.chars().map(narrow).sum();
                assert!(width <= max, "{line:?} is {width} wide, over {max}");
            }
            let words: Vec<&str> = lines.iter().flat_map(|l| l.split(' ')).collect();
            let joined = words.concat();
            assert_eq!(
                joined,
                text.split_whitespace().collect::<String>(),
                "nothing lost"
            );
        }
    }

    fn font() -> ParsedFont {
        crate::render::pdf::parse_font().unwrap()
    }

    #[test]
    fn widths_are_the_fonts_own_advances() {
        let font = font();
        let metrics = Metrics::new(&font);
        // DejaVu Sans has 2048 units to the em; a digit advances 1303, a space 651.
        let mm = |units: f32, size: f32| units / 2048.0 * size * MM_PER_PT;
        assert!((metrics.width("0", 10.0) - mm(1303.0, 10.0)).abs() < 1e-4);
        assert!((metrics.width("10 0", 9.0) - mm(3.0 * 1303.0 + 651.0, 9.0)).abs() < 1e-4);
        assert!(metrics.width("W", 10.0) > metrics.width("i", 10.0));
        assert!(
            (metrics.width("\u{10FFFF}", 10.0) - 10.0 * MM_PER_PT).abs() < 1e-4,
            "a missing glyph is as wide as viewers show it: one em"
        );
        for missing in ["漢", "カ", "\u{1b}"] {
            assert!(
                (metrics.width(missing, 9.0) - 9.0 * MM_PER_PT).abs() < 1e-4,
                "{missing:?}"
            );
        }
    }

    #[test]
    fn wrapped_lines_fit_when_measured_in_the_font() {
        let font = font();
        let metrics = Metrics::new(&font);
        let name = "Wolfgang Amadeus Mozart-Hieronymus Colloredo ".repeat(7);
        let lines = metrics.wrap(&name, 11.0, 58.0);
        assert!(lines.len() > 1);
        assert!(
            lines.iter().all(|l| metrics.width(l, 11.0) <= 58.0),
            "{lines:?}"
        );
    }
}
