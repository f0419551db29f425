//! Documents for people: invoices and credit notes as HTML and PDF, tickets as PDF, and
//! the QR codes scanners read.
//!
//! PDFs are drawn with `printpdf` in DejaVu Sans, which is compiled into the binary (the
//! shop runs in an image with no fonts), and every PDF embeds the subset of glyphs it uses
//! (printpdf's `text_layout` feature does the subsetting).

pub mod html;
mod page;
pub mod pdf;
pub mod qr;
mod text;

use rust_decimal::Decimal;

/// An amount as documents print it: two decimals and the currency.
pub fn money(amount: Decimal, currency: &str) -> String {
    let mut a = amount;
    a.rescale(2);
    format!("{a} {currency}")
}

/// The title of a document of `kind`.
pub fn document_title(kind: &str) -> &'static str {
    if kind == "creditNote" {
        "Credit note"
    } else {
        "Invoice"
    }
}
