//! Invoices, credit notes and tickets as PDF: A4 pages of text lines, and the ticket's QR
//! code drawn as squares.
//!
//! Every text is wrapped within its column, measured with the font's own glyph widths
//! ([`super::text`]), and what follows moves down by the lines it took. A document longer
//! than a page goes on to the next: an invoice's continuation pages repeat its title and the
//! header of its lines, and a ticket's QR code moves to a page of its own rather than off
//! the bottom.

use printpdf::{Color, Mm, Op, ParsedFont, PdfDocument, Rect, Rgb};

use super::page::{leading, Writer, LEFT, PAGE_H};
use super::text::Metrics;
use super::{document_title, money, qr};
use crate::store::invoices::Document;

/// DejaVu Sans (Debian's `fonts-dejavu-core`, a free license), compiled in.
static FONT: &[u8] = include_bytes!("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");

/// The lines of an invoice: each column's left edge and width in millimetres, 2 mm apart.
const COLUMNS: [(f32, f32); 7] = [
    (20.0, 58.0),
    (80.0, 12.0),
    (94.0, 22.0),
    (118.0, 12.0),
    (132.0, 18.0),
    (152.0, 16.0),
    (170.0, 20.0),
];
const HEADER: [&str; 7] = ["Item", "Qty", "Unit", "VAT %", "Net", "VAT", "Total"];
const TABLE_SIZE: f32 = 9.0;

/// Side of a ticket's QR code, and its distance below the text, in millimetres.
const QR_SIDE: f32 = 60.0;
const QR_GAP: f32 = 10.0;

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("failed to read the embedded font")]
    Font,
    #[error(transparent)]
    Qr(#[from] qr::QrError),
}

/// The compiled-in font, parsed.
pub(super) fn parse_font() -> Result<ParsedFont, PdfError> {
    ParsedFont::from_bytes(FONT, 0, &mut Vec::new()).ok_or(PdfError::Font)
}

fn party(w: &mut Writer<'_>, heading: &str, value: &serde_json::Value) {
    let field = |name: &str| value[name].as_str().unwrap_or_default().to_string();
    w.line(9.0, heading);
    w.line(11.0, &field("name"));
    w.line(10.0, &field("address"));
    w.line(10.0, &field("country"));
    let vat = field("vatNumber");
    if !vat.is_empty() {
        w.line(10.0, &format!("VAT {vat}"));
    }
    w.gap(3.0);
}

/// An invoice or credit note.
pub fn document(doc: &Document) -> Result<Vec<u8>, PdfError> {
    let title = format!("{} {}", document_title(&doc.kind), doc.number);
    let font = parse_font()?;
    let mut pdf = PdfDocument::new(&title);
    let mut w = Writer::new(pdf.add_font(&font), Metrics::new(&font));
    w.set_running_head(format!("{title} (continued)"));
    let c = &doc.currency;
    w.line(20.0, &title);
    w.line(
        10.0,
        &format!("Issued {}", doc.issued_at.format("%Y-%m-%d")),
    );
    w.line(10.0, &doc.event_name);
    if let Some(original) = &doc.refers_to {
        w.line(10.0, &format!("Cancels invoice {original}"));
    }
    if doc.state == "voided" {
        w.line(12.0, "VOIDED");
    }
    w.gap(4.0);
    party(&mut w, "Seller", &doc.seller);
    party(&mut w, "Buyer", &doc.buyer);

    // The header stays with the first line.
    w.keep_together(leading(TABLE_SIZE));
    w.row(TABLE_SIZE, &COLUMNS, &HEADER, None);
    for l in &doc.lines {
        let values = [
            l.description.clone(),
            l.quantity.to_string(),
            l.unit_price.to_string(),
            l.vat_rate.to_string(),
            l.net.to_string(),
            l.vat.to_string(),
            l.gross.to_string(),
        ];
        let cells: Vec<&str> = values.iter().map(String::as_str).collect();
        w.row(TABLE_SIZE, &COLUMNS, &cells, Some(&HEADER));
    }
    w.gap(3.0);

    // The totals stay together.
    w.keep_together(2.0 * leading(10.0));
    w.line(10.0, &format!("Net {}", money(doc.totals.net, c)));
    w.line(10.0, &format!("VAT {}", money(doc.totals.vat, c)));
    w.line(12.0, &format!("Total {}", money(doc.totals.gross, c)));
    if doc.reverse_charge {
        w.gap(3.0);
        w.keep_together(leading(9.0));
        w.line(
            9.0,
            "VAT reverse charge: VAT to be accounted for by the recipient",
        );
        w.line(9.0, "(Article 196, Council Directive 2006/112/EC).");
    }
    Ok(w.finish(pdf))
}

/// What a ticket shows.
pub struct TicketSheet<'a> {
    pub event_name: &'a str,
    pub starts: Option<String>,
    pub venue: Option<&'a str>,
    pub category: &'a str,
    pub seat: i32,
    pub attendee: String,
    pub code: &'a str,
    pub payload: &'a str,
}

/// A ticket: event, date, venue, attendee, and the QR code of its signed payload.
pub fn ticket(sheet: &TicketSheet<'_>) -> Result<Vec<u8>, PdfError> {
    let font = parse_font()?;
    let mut pdf = PdfDocument::new(&format!("Ticket {}", sheet.event_name));
    let mut w = Writer::new(pdf.add_font(&font), Metrics::new(&font));
    w.line(20.0, sheet.event_name);
    if let Some(starts) = &sheet.starts {
        w.line(12.0, starts);
    }
    if let Some(venue) = sheet.venue {
        w.line(12.0, venue);
    }
    w.gap(4.0);
    w.line(14.0, &sheet.attendee);
    w.line(11.0, &format!("{} · seat {}", sheet.category, sheet.seat));
    w.line(9.0, &format!("Ticket {}", sheet.code));

    // The QR code, under the text.
    let (width, dark) = qr::modules(sheet.payload)?;
    if !w.fits(QR_GAP + QR_SIDE) {
        w.new_page();
    }
    let size = QR_SIDE / width as f32;
    let top = PAGE_H - w.y() - QR_GAP;
    w.draw(Op::SetFillColor {
        col: Color::Rgb(Rgb::new(0.0, 0.0, 0.0, None)),
    });
    for (i, _) in dark.iter().enumerate().filter(|(_, d)| **d) {
        let (row, col) = (i / width, i % width);
        let rect = Rect::from_xywh(
            Mm(LEFT + col as f32 * size).into(),
            Mm(top - (row + 1) as f32 * size).into(),
            Mm(size).into(),
            Mm(size).into(),
        );
        w.draw(Op::DrawPolygon {
            polygon: rect.to_polygon(),
        });
    }
    Ok(w.finish(pdf))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkout::vat::{price_line, totals, Item};
    use crate::render::page::{LAST_BASELINE, RIGHT, TOP};
    use printpdf::{PdfParseOptions, TextItem};

    pub(super) fn line_item(description: &str, quantity: i32) -> Item {
        Item {
            category: "combi".into(),
            description: description.into(),
            quantity,
            unit_price: "550.00".parse().unwrap(),
            vat_rate: "21".parse().unwrap(),
        }
    }

    pub(super) fn invoice_of(buyer: serde_json::Value, items: &[Item]) -> Document {
        let lines: Vec<_> = items.iter().map(|i| price_line(i, false)).collect();
        Document {
            kind: "invoice".into(),
            number: "2026-00042".into(),
            state: "issued".into(),
            refers_to: None,
            issued_at: chrono::Utc::now(),
            currency: "EUR".into(),
            event_name: "Devoxx Belgium".into(),
            seller: serde_json::json!({"name": "Devoxx BV", "address": "Groenplaats 1\n2000 Antwerpen",
                                       "country": "BE", "vatNumber": "BE0123456789"}),
            buyer,
            totals: totals(&lines),
            lines,
            reverse_charge: false,
        }
    }

    fn invoice() -> Document {
        let buyer = serde_json::json!({"name": "Zoë Ærøskøbing", "address": "Straße 5",
                                       "country": "DE"});
        invoice_of(buyer, &[line_item("Combi ticket", 2)])
    }

    /// Writes the rendered PDFs to `$BOXOFFICE_PDF_DIR` when set, to look at them.
    pub(super) fn keep(name: &str, pdf: &[u8]) {
        if let Ok(dir) = std::env::var("BOXOFFICE_PDF_DIR") {
            std::fs::write(std::path::Path::new(&dir).join(name), pdf).unwrap();
        }
    }

    /// Distinct words, `prefix` and a number each, as many as fit in `chars` characters.
    fn words(prefix: &str, chars: usize) -> String {
        let mut text = String::new();
        for i in 0.. {
            let word = format!("{prefix}{i}");
            if text.chars().count() + word.chars().count() + 1 > chars {
                break;
            }
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&word);
        }
        text
    }

    /// A text as a viewer finds it in the PDF: page (from 0), left edge and baseline in
    /// millimetres from the page's top left corner, size in points.
    #[derive(Debug)]
    pub(super) struct Shown {
        pub(super) page: usize,
        pub(super) x: f32,
        pub(super) y: f32,
        pub(super) size: f32,
        pub(super) text: String,
    }

    /// Reads a PDF back with printpdf's parser and lists the texts its pages show.
    pub(super) fn shown(pdf: &[u8]) -> Vec<Shown> {
        let mut warnings = Vec::new();
        let parsed = PdfDocument::parse(pdf, &PdfParseOptions::default(), &mut warnings)
            .expect("printpdf reads its PDF back");
        let mm = |pt: f32| pt * 25.4 / 72.0;
        let mut out = Vec::new();
        for (page, p) in parsed.pages.iter().enumerate() {
            let (mut size, mut x, mut y) = (0.0, 0.0, 0.0);
            for op in &p.ops {
                match op {
                    Op::SetFont { size: s, .. } => size = s.0,
                    Op::SetTextCursor { pos } => (x, y) = (mm(pos.x.0), PAGE_H - mm(pos.y.0)),
                    Op::ShowText { items } => out.push(Shown {
                        page,
                        x,
                        y,
                        size,
                        text: items.iter().map(item_text).collect(),
                    }),
                    _ => {}
                }
            }
        }
        out
    }

    /// The text a PDF gives its glyphs. A glyph it gives none is `.notdef`, shown for a
    /// character the font lacks; U+10FFFF, which no font has, stands for it, so it is
    /// measured as such a character.
    fn item_text(item: &TextItem) -> String {
        match item {
            TextItem::Text(text) => text.clone(),
            TextItem::GlyphIds(glyphs) => glyphs
                .iter()
                .map(|g| g.cid.clone().unwrap_or_else(|| "\u{10FFFF}".into()))
                .collect(),
            TextItem::Offset(_) => String::new(),
        }
    }

    /// Positions read back from a PDF are rounded to its precision.
    fn near(a: f32, b: f32) -> bool {
        (a - b).abs() < 0.01
    }

    /// The millimetres a text's glyphs may reach above and below its baseline: DejaVu
    /// Sans's ascent and descent (1901 and 483 of 2048 units per em).
    fn extent(size: f32) -> (f32, f32) {
        let em = size * 25.4 / 72.0;
        (em * 1901.0 / 2048.0, em * 483.0 / 2048.0)
    }

    /// Every text lies within the margins and on its page, and no two overlap.
    pub(super) fn assert_laid_out(texts: &[Shown], metrics: &Metrics<'_>) {
        let boxes: Vec<(usize, [f32; 4])> = texts
            .iter()
            .map(|t| {
                let (up, down) = extent(t.size);
                let right = t.x + metrics.width(&t.text, t.size);
                (t.page, [t.x, right, t.y - up, t.y + down])
            })
            .collect();
        for (t, (_, [left, right, top, bottom])) in texts.iter().zip(&boxes) {
            assert!(
                *left >= LEFT - 0.01 && *right <= RIGHT + 0.01,
                "{t:?} ends at {right}"
            );
            assert!(
                *top >= 0.0 && t.y <= LAST_BASELINE + 0.01 && *bottom < PAGE_H,
                "{t:?}"
            );
        }
        for (i, (page, a)) in boxes.iter().enumerate() {
            for (j, (other_page, b)) in boxes.iter().enumerate().skip(i + 1) {
                let apart = page != other_page
                    || a[1] <= b[0] + 0.01
                    || b[1] <= a[0] + 0.01
                    || a[3] <= b[2] + 0.01
                    || b[3] <= a[2] + 0.01;
                assert!(apart, "{:?} overlaps {:?}", texts[i], texts[j]);
            }
        }
    }

    /// Every word of `text` is shown whole, in order, on the lines starting at `x`, each at
    /// most `width` wide; returns how many lines it took.
    fn assert_wrapped(
        texts: &[Shown],
        metrics: &Metrics<'_>,
        text: &str,
        x: f32,
        width: f32,
    ) -> usize {
        let first = text.split_whitespace().next().unwrap();
        let start = texts
            .iter()
            .position(|t| t.text.split(' ').any(|w| w == first))
            .unwrap_or_else(|| panic!("{first} is not shown"));
        let mut lines = 0;
        let mut words = text.split_whitespace().peekable();
        for t in texts[start..].iter().filter(|t| near(t.x, x)) {
            if words.peek().is_none() {
                break;
            }
            let w = metrics.width(&t.text, t.size);
            assert!(w <= width, "{t:?} is {w} mm wide, over {width}");
            for shown in t.text.split(' ') {
                assert_eq!(Some(shown), words.next(), "in {t:?}");
            }
            lines += 1;
        }
        assert_eq!(words.next(), None, "every word is shown");
        lines
    }

    #[test]
    fn an_invoice_embeds_its_font() {
        let pdf = document(&invoice()).unwrap();
        keep("invoice.pdf", &pdf);
        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("FontFile"), "the font is embedded");
        // Only the glyphs used: the whole font would be about 380 kB.
        assert!(
            pdf.len() < 100_000,
            "a subset of the font: {} bytes",
            pdf.len()
        );
    }

    #[test]
    fn an_invoice_shows_its_parties_lines_and_totals() {
        let texts = shown(&document(&invoice()).unwrap());
        let all: Vec<&str> = texts.iter().map(|t| t.text.as_str()).collect();
        for expected in [
            "Invoice 2026-00042",
            "Devoxx BV",
            "Groenplaats 1",
            "2000 Antwerpen",
            "Zoë Ærøskøbing",
            "Straße 5",
            "Combi ticket",
            "1100.00",
            "Total 1100.00 EUR",
        ] {
            assert!(all.contains(&expected), "{expected} in {all:?}");
        }
        let font = parse_font().unwrap();
        assert_laid_out(&texts, &Metrics::new(&font));
        assert!(texts.iter().all(|t| t.page == 0), "one page");
    }

    #[test]
    fn long_names_addresses_and_lines_wrap_within_their_columns() {
        let name = words("Vanderbeken-Ærøskøbing", 300);
        let address = format!("{}\n{}", words("Kerkstraat", 150), words("Antwerpen", 150));
        let description = words("Masterclass", 200);
        assert!(name.chars().count() > 280 && address.chars().count() > 280);
        let buyer = serde_json::json!({"name": name, "address": address, "country": "BE"});
        let doc = invoice_of(buyer, &[line_item(&description, 2), line_item("Combi", 1)]);
        let pdf = document(&doc).unwrap();
        keep("long-names.pdf", &pdf);

        let texts = shown(&pdf);
        let font = parse_font().unwrap();
        let metrics = Metrics::new(&font);
        assert_laid_out(&texts, &metrics);
        assert!(assert_wrapped(&texts, &metrics, &name, LEFT, RIGHT - LEFT) > 1);
        assert!(assert_wrapped(&texts, &metrics, &address, LEFT, RIGHT - LEFT) > 2);
        let (x, width) = COLUMNS[0];
        assert!(assert_wrapped(&texts, &metrics, &description, x, width) > 1);

        // The table starts under the address, and the next line under the description.
        let y_of = |text: &str| texts.iter().find(|t| t.text == text).unwrap().y;
        let last_address_line = texts
            .iter()
            .rfind(|t| t.text.contains("Antwerpen"))
            .unwrap();
        assert!(y_of("Item") > last_address_line.y);
        let last_description_line = texts
            .iter()
            .rfind(|t| t.text.contains("Masterclass"))
            .unwrap();
        assert!(y_of("Combi") > last_description_line.y);
        assert!(texts.iter().all(|t| t.page == 0), "still one page");
    }

    #[test]
    fn the_largest_amounts_stay_within_their_columns() {
        // Amounts are numeric(12, 2): up to ten digits before the point.
        let mut item = line_item("Combi", 1);
        item.unit_price = "9999999999.99".parse().unwrap();
        item.vat_rate = "99.99".parse().unwrap();
        let buyer = serde_json::json!({"name": "Ada", "address": "Rue 1", "country": "BE"});
        let pdf = document(&invoice_of(buyer, &[item])).unwrap();
        keep("large-amounts.pdf", &pdf);

        let texts = shown(&pdf);
        let font = parse_font().unwrap();
        let metrics = Metrics::new(&font);
        assert_laid_out(&texts, &metrics);
        let header_y = texts.iter().find(|t| t.text == "Item").unwrap().y;
        let cells: Vec<&Shown> = texts.iter().filter(|t| t.y > header_y).collect();
        for (x, width) in &COLUMNS[1..] {
            let column: Vec<&&Shown> = cells.iter().filter(|t| near(t.x, *x)).collect();
            assert!(!column.is_empty(), "a cell at {x}");
            for t in column {
                let w = metrics.width(&t.text, t.size);
                assert!(w <= *width, "{t:?} is {w} mm wide, over {width}");
            }
        }
        let unit: String = cells
            .iter()
            .filter(|t| near(t.x, COLUMNS[2].0))
            .map(|t| t.text.as_str())
            .collect();
        assert_eq!(unit, "9999999999.99", "cut, not lost");
    }

    #[test]
    fn a_long_invoice_goes_on_to_more_pages_with_its_header() {
        let items: Vec<Item> = (0..60)
            .map(|i| line_item(&format!("Session{i} {}", words("Workshop", 90)), 1))
            .collect();
        let buyer = serde_json::json!({"name": "Ada", "address": "Rue 1", "country": "BE"});
        let pdf = document(&invoice_of(buyer, &items)).unwrap();
        keep("long-invoice.pdf", &pdf);

        let texts = shown(&pdf);
        let font = parse_font().unwrap();
        assert_laid_out(&texts, &Metrics::new(&font));
        let pages = texts.iter().map(|t| t.page).max().unwrap() + 1;
        assert!(pages >= 3, "{pages} pages");
        for page in 1..pages {
            let on_page: Vec<&str> = texts
                .iter()
                .filter(|t| t.page == page)
                .map(|t| t.text.as_str())
                .collect();
            assert_eq!(on_page[0], "Invoice 2026-00042 (continued)", "page {page}");
            assert!(
                on_page.contains(&"Item"),
                "header on page {page}: {on_page:?}"
            );
        }
        // Every line once, in order, and the total at the end.
        let sessions: Vec<&str> = texts
            .iter()
            .filter(|t| near(t.x, COLUMNS[0].0))
            .filter_map(|t| t.text.split(' ').next()?.strip_prefix("Session"))
            .collect();
        let wanted: Vec<String> = (0..60).map(|i| i.to_string()).collect();
        assert_eq!(sessions, wanted);
        let total = texts
            .iter()
            .find(|t| t.text == "Total 33000.00 EUR")
            .unwrap();
        assert_eq!(total.page, pages - 1);
    }

    pub(super) fn sheet(attendee: String) -> TicketSheet<'static> {
        TicketSheet {
            event_name: "Devoxx Belgium",
            starts: Some("Monday 5 October 2026, 09:00 (CEST)".into()),
            venue: Some("Kinepolis Antwerpen"),
            category: "combi",
            seat: 17,
            attendee,
            code: "AbCdEfGhIjKlMnOpQrStUv",
            payload: "AbCdEfGhIjKlMnOpQrStUv.c2lnbmF0dXJl",
        }
    }

    /// The top and bottom of what a PDF's `page` fills (a ticket's QR code), in
    /// millimetres from the top; `None` when it fills nothing.
    fn filled_extent(pdf: &[u8], page: usize) -> Option<(f32, f32)> {
        let parsed = PdfDocument::parse(pdf, &PdfParseOptions::default(), &mut Vec::new())
            .expect("printpdf reads its PDF back");
        let ys: Vec<f32> = parsed.pages[page]
            .ops
            .iter()
            .filter_map(|op| match op {
                Op::DrawPolygon { polygon } => Some(polygon),
                _ => None,
            })
            .flat_map(|p| p.rings.iter().flat_map(|r| &r.points))
            .map(|point| PAGE_H - point.p.y.0 * 25.4 / 72.0)
            .collect();
        let top = ys.iter().copied().reduce(f32::min)?;
        let bottom = ys.iter().copied().reduce(f32::max)?;
        Some((top, bottom))
    }

    #[test]
    fn a_ticket_draws_its_qr_code() {
        let pdf = ticket(&sheet("Zoë Ærøskøbing".into())).unwrap();
        keep("ticket.pdf", &pdf);
        assert!(pdf.starts_with(b"%PDF-"));
        let (top, bottom) = filled_extent(&pdf, 0).expect("a QR code");
        assert!((bottom - top - QR_SIDE).abs() < 0.1, "{top} to {bottom}");
    }

    #[test]
    fn a_long_attendee_name_wraps_and_pushes_the_qr_code_down() {
        let name = words("Wolfgang-Amadeus", 300);
        let pdf = ticket(&sheet(name.clone())).unwrap();
        keep("ticket-long-name.pdf", &pdf);

        let texts = shown(&pdf);
        let font = parse_font().unwrap();
        let metrics = Metrics::new(&font);
        assert_laid_out(&texts, &metrics);
        assert!(assert_wrapped(&texts, &metrics, &name, LEFT, RIGHT - LEFT) > 2);
        let last = texts.last().unwrap();
        assert!(last.text.starts_with("Ticket "), "{last:?}");
        let (top, bottom) = filled_extent(&pdf, 0).expect("a QR code");
        assert!(
            top > last.y + extent(last.size).1,
            "QR code at {top}, text to {last:?}"
        );
        assert!(bottom <= PAGE_H - 20.0, "QR code to {bottom}");
    }

    #[test]
    fn a_qr_code_that_would_cross_the_bottom_margin_goes_to_the_next_page() {
        let name = words("Wolfgang-Amadeus", 1400);
        let pdf = ticket(&sheet(name.clone())).unwrap();
        keep("ticket-two-pages.pdf", &pdf);

        let texts = shown(&pdf);
        let font = parse_font().unwrap();
        let metrics = Metrics::new(&font);
        assert_laid_out(&texts, &metrics);
        assert_wrapped(&texts, &metrics, &name, LEFT, RIGHT - LEFT);
        assert!(
            texts.iter().all(|t| t.page == 0),
            "the text on the first page"
        );
        assert_eq!(filled_extent(&pdf, 0), None);
        let (top, bottom) = filled_extent(&pdf, 1).expect("the QR code on the second");
        assert!(top >= TOP && bottom <= PAGE_H - 20.0, "{top} to {bottom}");
    }
}

#[cfg(test)]
#[path = "pdf_hostile_tests.rs"]
mod hostile_tests;
