//! Invoices, credit notes and tickets as PDF: A4 pages of text lines, and the ticket's QR
//! code drawn as squares.

use printpdf::{
    Color, FontId, Mm, Op, ParsedFont, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point,
    Pt, Rect, Rgb, TextItem,
};

use super::{document_title, money, qr};
use crate::store::invoices::Document;

/// DejaVu Sans (Debian's `fonts-dejavu-core`, a free license), compiled in.
static FONT: &[u8] = include_bytes!("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const LEFT: f32 = 20.0;

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("failed to read the embedded font")]
    Font,
    #[error(transparent)]
    Qr(#[from] qr::QrError),
}

/// A page being written top to bottom.
struct Page {
    font: FontId,
    ops: Vec<Op>,
    /// Millimetres from the top of the next line.
    y: f32,
}

impl Page {
    fn text_at(&mut self, x: f32, size: f32, text: &str) {
        self.ops.extend([
            Op::StartTextSection,
            Op::SetFont {
                font: PdfFontHandle::External(self.font.clone()),
                size: Pt(size),
            },
            Op::SetTextCursor {
                pos: Point::new(Mm(x), Mm(PAGE_H - self.y)),
            },
            Op::ShowText {
                items: vec![TextItem::Text(text.to_string())],
            },
            Op::EndTextSection,
        ]);
    }

    fn line(&mut self, size: f32, text: &str) {
        self.text_at(LEFT, size, text);
        self.y += size * 0.5 + 1.5;
    }

    fn columns(&mut self, size: f32, cells: &[(f32, &str)]) {
        for (x, text) in cells {
            self.text_at(*x, size, text);
        }
        self.y += size * 0.5 + 1.5;
    }

    fn gap(&mut self, mm: f32) {
        self.y += mm;
    }
}

fn new_document(title: &str) -> Result<(PdfDocument, FontId), PdfError> {
    let font = ParsedFont::from_bytes(FONT, 0, &mut Vec::new()).ok_or(PdfError::Font)?;
    let mut doc = PdfDocument::new(title);
    let id = doc.add_font(&font);
    Ok((doc, id))
}

fn save(mut doc: PdfDocument, page: Page) -> Vec<u8> {
    doc.with_pages(vec![PdfPage::new(Mm(PAGE_W), Mm(PAGE_H), page.ops)])
        .save(&PdfSaveOptions::default(), &mut Vec::new())
}

fn party(page: &mut Page, heading: &str, value: &serde_json::Value) {
    let field = |name: &str| value[name].as_str().unwrap_or_default().to_string();
    page.line(9.0, heading);
    page.line(11.0, &field("name"));
    for part in field("address").lines() {
        page.line(10.0, part);
    }
    page.line(10.0, &field("country"));
    let vat = field("vatNumber");
    if !vat.is_empty() {
        page.line(10.0, &format!("VAT {vat}"));
    }
    page.gap(3.0);
}

/// An invoice or credit note.
pub fn document(doc: &Document) -> Result<Vec<u8>, PdfError> {
    let title = format!("{} {}", document_title(&doc.kind), doc.number);
    let (pdf, font) = new_document(&title)?;
    let mut page = Page {
        font,
        ops: Vec::new(),
        y: 25.0,
    };
    let c = &doc.currency;
    page.line(20.0, &title);
    page.line(
        10.0,
        &format!("Issued {}", doc.issued_at.format("%Y-%m-%d")),
    );
    page.line(10.0, &doc.event_name);
    if let Some(original) = &doc.refers_to {
        page.line(10.0, &format!("Cancels invoice {original}"));
    }
    if doc.state == "voided" {
        page.line(12.0, "VOIDED");
    }
    page.gap(4.0);
    party(&mut page, "Seller", &doc.seller);
    party(&mut page, "Buyer", &doc.buyer);

    let cols = [20.0, 85.0, 100.0, 125.0, 143.0, 163.0, 183.0];
    let header = ["Item", "Qty", "Unit", "VAT %", "Net", "VAT", "Total"];
    page.columns(9.0, &cols.iter().copied().zip(header).collect::<Vec<_>>());
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
        let cells: Vec<(f32, &str)> = cols
            .iter()
            .copied()
            .zip(values.iter().map(String::as_str))
            .collect();
        page.columns(9.0, &cells);
    }
    page.gap(3.0);
    page.line(10.0, &format!("Net {}", money(doc.totals.net, c)));
    page.line(10.0, &format!("VAT {}", money(doc.totals.vat, c)));
    page.line(12.0, &format!("Total {}", money(doc.totals.gross, c)));
    if doc.reverse_charge {
        page.gap(3.0);
        page.line(
            9.0,
            "VAT reverse charge: VAT to be accounted for by the recipient",
        );
        page.line(9.0, "(Article 196, Council Directive 2006/112/EC).");
    }
    Ok(save(pdf, page))
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
    let (pdf, font) = new_document(&format!("Ticket {}", sheet.event_name))?;
    let mut page = Page {
        font,
        ops: Vec::new(),
        y: 25.0,
    };
    page.line(20.0, sheet.event_name);
    if let Some(starts) = &sheet.starts {
        page.line(12.0, starts);
    }
    if let Some(venue) = sheet.venue {
        page.line(12.0, venue);
    }
    page.gap(4.0);
    page.line(14.0, &sheet.attendee);
    page.line(11.0, &format!("{} · seat {}", sheet.category, sheet.seat));
    page.line(9.0, &format!("Ticket {}", sheet.code));

    // The QR code, 60 mm wide, under the text.
    let (width, dark) = qr::modules(sheet.payload)?;
    let size = 60.0 / width as f32;
    let top = PAGE_H - page.y - 10.0;
    page.ops.push(Op::SetFillColor {
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
        page.ops.push(Op::DrawPolygon {
            polygon: rect.to_polygon(),
        });
    }
    Ok(save(pdf, page))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkout::vat::{price_line, totals, Item};

    fn invoice() -> Document {
        let item = Item {
            category: "combi".into(),
            description: "Combi ticket".into(),
            quantity: 2,
            unit_price: "550.00".parse().unwrap(),
            vat_rate: "21".parse().unwrap(),
        };
        let lines = vec![price_line(&item, false)];
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
            buyer: serde_json::json!({"name": "Zoë Ærøskøbing", "address": "Straße 5", "country": "DE"}),
            totals: totals(&lines),
            lines,
            reverse_charge: false,
        }
    }

    /// Writes the rendered PDFs to `$BOXOFFICE_PDF_DIR` when set, to look at them.
    fn keep(name: &str, pdf: &[u8]) {
        if let Ok(dir) = std::env::var("BOXOFFICE_PDF_DIR") {
            std::fs::write(std::path::Path::new(&dir).join(name), pdf).unwrap();
        }
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
    fn a_ticket_draws_its_qr_code() {
        let sheet = TicketSheet {
            event_name: "Devoxx Belgium",
            starts: Some("Monday 5 October 2026, 09:00 (CEST)".into()),
            venue: Some("Kinepolis Antwerpen"),
            category: "combi",
            seat: 17,
            attendee: "Zoë Ærøskøbing".into(),
            code: "AbCdEfGhIjKlMnOpQrStUv",
            payload: "AbCdEfGhIjKlMnOpQrStUv.c2lnbmF0dXJl",
        };
        let pdf = ticket(&sheet).unwrap();
        keep("ticket.pdf", &pdf);
        assert!(pdf.starts_with(b"%PDF-"));
    }
}
