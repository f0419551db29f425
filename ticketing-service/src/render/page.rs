//! Pages of text for PDFs: lines set top to bottom at a left margin, each text wrapped
//! within its column ([`super::text`]) and what follows moved down by the lines it took.
//! A line that would fall below the bottom margin starts a new page, which can begin with a
//! running head; table rows move to the next page whole and repeat their header there.

use printpdf::{
    FontId, Mm, Op, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, TextItem,
};

use super::text::Metrics;

pub const PAGE_W: f32 = 210.0;
pub const PAGE_H: f32 = 297.0;
pub const LEFT: f32 = 20.0;
/// The right edge of the text: the same margin as on the left.
pub const RIGHT: f32 = PAGE_W - LEFT;
/// Distance from the top of a page to its first baseline.
pub const TOP: f32 = 25.0;
/// No baseline lies lower than this, from the top: a bottom margin of 20 mm.
pub const LAST_BASELINE: f32 = PAGE_H - 20.0;

/// Distance between the baselines of two lines of text at `size` points, in millimetres.
pub fn leading(size: f32) -> f32 {
    size * 0.5 + 1.5
}

/// Pages written top to bottom; a line that would fall below the bottom margin starts a
/// new page.
pub struct Writer<'a> {
    font: FontId,
    metrics: Metrics<'a>,
    /// Finished pages.
    pages: Vec<Vec<Op>>,
    ops: Vec<Op>,
    /// Millimetres from the top of the page to the next line's baseline.
    y: f32,
    /// Where the current page's own content starts, under its running head.
    page_top: f32,
    /// Set at the top of every page after the first.
    running_head: Option<String>,
}

impl<'a> Writer<'a> {
    pub fn new(font: FontId, metrics: Metrics<'a>) -> Writer<'a> {
        Writer {
            font,
            metrics,
            pages: Vec::new(),
            ops: Vec::new(),
            y: TOP,
            page_top: TOP,
            running_head: None,
        }
    }

    /// A line to set at the top of every page after the first.
    pub fn set_running_head(&mut self, head: String) {
        self.running_head = Some(head);
    }

    /// Millimetres from the top of the page to the next line's baseline.
    pub fn y(&self) -> f32 {
        self.y
    }

    /// Adds a drawing operation (not text) to the current page.
    pub fn draw(&mut self, op: Op) {
        self.ops.push(op);
    }

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

    /// Whether a baseline `below` millimetres under the next one is still on this page.
    pub fn fits(&self, below: f32) -> bool {
        self.y + below <= LAST_BASELINE
    }

    /// Ends the current page; the next starts with the running head, if any.
    pub fn new_page(&mut self) {
        self.pages.push(std::mem::take(&mut self.ops));
        self.y = TOP;
        if let Some(head) = self.running_head.clone() {
            self.line(9.0, &head);
            self.gap(3.0);
        }
        self.page_top = self.y;
    }

    /// Starts a new page when a block reaching `below` millimetres under the next baseline
    /// does not fit on this one, unless this page holds nothing yet (the block would not
    /// fit on any page; it then flows on line by line).
    pub fn keep_together(&mut self, below: f32) {
        if !self.fits(below) && self.y > self.page_top {
            self.new_page();
        }
    }

    /// `text` wrapped to `width` millimetres from `x`, one line under the other.
    fn paragraph(&mut self, x: f32, width: f32, size: f32, text: &str) {
        for line in self.metrics.wrap(text, size, width) {
            if !self.fits(0.0) {
                self.new_page();
            }
            self.text_at(x, size, &line);
            self.y += leading(size);
        }
    }

    /// `text` across the whole width of the page.
    pub fn line(&mut self, size: f32, text: &str) {
        self.paragraph(LEFT, RIGHT - LEFT, size, text);
    }

    /// A table row: each cell wrapped within its column, the row as tall as its tallest
    /// cell. A row that does not fit goes to the next page whole, under `header` again;
    /// one taller than a page flows on line by line.
    pub fn row(
        &mut self,
        size: f32,
        columns: &[(f32, f32)],
        cells: &[&str],
        header: Option<&[&str]>,
    ) {
        let wrapped: Vec<Vec<String>> = columns
            .iter()
            .zip(cells)
            .map(|((_, width), text)| self.metrics.wrap(text, size, *width))
            .collect();
        let height = wrapped.iter().map(Vec::len).max().unwrap_or(0).max(1);

        let break_page = |w: &mut Self| {
            w.new_page();
            if let Some(header) = header {
                w.row(size, columns, header, None);
            }
        };
        if !self.fits((height - 1) as f32 * leading(size)) && self.y > self.page_top {
            break_page(self);
        }
        for i in 0..height {
            if !self.fits(0.0) {
                break_page(self);
            }
            for ((x, _), lines) in columns.iter().zip(&wrapped) {
                if let Some(line) = lines.get(i) {
                    self.text_at(*x, size, line);
                }
            }
            self.y += leading(size);
        }
    }

    pub fn gap(&mut self, mm: f32) {
        self.y += mm;
    }

    pub fn finish(mut self, mut doc: PdfDocument) -> Vec<u8> {
        self.pages.push(self.ops);
        let pages = self
            .pages
            .into_iter()
            .map(|ops| PdfPage::new(Mm(PAGE_W), Mm(PAGE_H), ops))
            .collect();
        doc.with_pages(pages)
            .save(&PdfSaveOptions::default(), &mut Vec::new())
    }
}
