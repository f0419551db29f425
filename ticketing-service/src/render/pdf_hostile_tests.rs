//! Hostile text in PDFs: empty and blank strings, one enormous word, combining marks,
//! characters the font lacks (CJK, emoji, control characters), right-to-left scripts and
//! a thousand lines. Nothing panics, every document ends soon, and no text crosses the
//! margins or another text.

use std::time::{Duration, Instant};

use super::tests::{assert_laid_out, invoice_of, keep, line_item, sheet, shown};
use super::*;
use crate::checkout::vat::Item;

fn buyer(name: &str, address: &str) -> serde_json::Value {
    serde_json::json!({"name": name, "address": address, "country": "BE"})
}

fn assert_within_margins(name: &str, pdf: &[u8]) {
    keep(name, pdf);
    let font = parse_font().unwrap();
    assert_laid_out(&shown(pdf), &Metrics::new(&font));
}

#[test]
fn hostile_text_stays_within_the_margins() {
    let cases = [
        ("empty", String::new()),
        ("blank", " \n \r\n\t \u{a0}\u{2028}\u{85}".into()),
        ("one-word", "W".repeat(5000)),
        ("combining", "e\u{301}\u{308}\u{323} ".repeat(300)),
        ("cjk", "漢字かなカナ".repeat(300)),
        ("emoji", "😀👍🏽👨‍👩‍👧 ".repeat(200)),
        ("rtl", "שלום עולם مرحبا بالعالم ".repeat(50)),
        (
            "control",
            "\u{0}\u{7}\u{1b}[31m\u{8}\u{7f}\u{200b}\u{feff}\u{202e}abc ".repeat(100),
        ),
    ];
    for (name, text) in cases {
        let started = Instant::now();
        let items = [line_item(&text, 1), line_item("Combi", 2)];
        let invoice = document(&invoice_of(buyer(&text, &text), &items)).unwrap();
        let ticket = ticket(&sheet(text.clone())).unwrap();
        assert!(started.elapsed() < Duration::from_secs(10), "{name}");
        assert_within_margins(&format!("hostile-{name}.pdf"), &invoice);
        assert_within_margins(&format!("hostile-ticket-{name}.pdf"), &ticket);
    }
}

/// The width, in ems, viewers give glyph 0 (`.notdef`, shown for a character the font
/// lacks) in `pdf`: its font's default width `/DW`, as glyph 0 is not in the width array.
fn notdef_width(pdf: &[u8]) -> f32 {
    let text = String::from_utf8_lossy(pdf);
    let after = |key: &str| {
        let at = text.find(key).unwrap_or_else(|| panic!("{key} in the PDF")) + key.len();
        text[at..]
            .split(|c: char| !c.is_ascii_digit())
            .find(|s| !s.is_empty())
            .unwrap()
            .parse::<f32>()
            .unwrap()
    };
    assert!(after("/W[") >= 1.0, "glyph 0 has no width of its own");
    after("/DW") / 1000.0
}

#[test]
fn a_character_the_font_lacks_is_measured_as_viewers_show_it() {
    let name = "漢字かなカナ".repeat(100);
    let pdf = document(&invoice_of(buyer(&name, "Rue 1"), &[line_item("Combi", 1)])).unwrap();
    let em = notdef_width(&pdf);
    let font = parse_font().unwrap();
    let metrics = Metrics::new(&font);
    let size = 11.0;
    let shown = metrics.width("漢", size);
    let expected = em * size * 25.4 / 72.0;
    assert!(
        (shown - expected).abs() < 1e-4,
        "{shown} mm, viewers show {expected} mm"
    );
    assert_within_margins("hostile-lacking-glyphs.pdf", &pdf);
}

#[test]
fn a_thousand_lines_go_on_over_pages_in_order() {
    let items: Vec<Item> = (0..1000)
        .map(|i| line_item(&format!("Line{i}"), 1))
        .collect();
    let started = Instant::now();
    let pdf = document(&invoice_of(buyer("Ada", "Rue 1"), &items)).unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_within_margins("hostile-1000-lines.pdf", &pdf);
    let texts = shown(&pdf);
    let lines: Vec<&str> = texts
        .iter()
        .filter_map(|t| t.text.strip_prefix("Line"))
        .collect();
    let wanted: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
    assert_eq!(lines, wanted);
    let last = texts.last().unwrap();
    assert_eq!(last.text, "Total 550000.00 EUR");
    assert!(last.page > 20, "{last:?}");
}
