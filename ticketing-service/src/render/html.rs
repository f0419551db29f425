//! Invoices and credit notes as HTML pages.

use std::fmt::Write;

use super::{document_title, money};
use crate::store::invoices::Document;
use crate::time::format_time;

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn party(value: &serde_json::Value) -> String {
    let field = |name: &str| escape(value[name].as_str().unwrap_or_default());
    let mut out = format!("<strong>{}</strong><br>{}", field("name"), field("address"));
    let country = field("country");
    if !country.is_empty() {
        let _ = write!(out, "<br>{country}");
    }
    let vat = field("vatNumber");
    if !vat.is_empty() {
        let _ = write!(out, "<br>VAT {vat}");
    }
    out
}

/// The whole page.
pub fn document(doc: &Document) -> String {
    let title = document_title(&doc.kind);
    let c = &doc.currency;
    let mut rows = String::new();
    for l in &doc.lines {
        let _ = write!(
            rows,
            "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}%</td>\
             <td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
            escape(&l.description),
            l.quantity,
            money(l.unit_price, c),
            l.vat_rate,
            money(l.net, c),
            money(l.vat, c),
            money(l.gross, c)
        );
    }
    let mut notes = String::new();
    if let Some(original) = &doc.refers_to {
        let _ = write!(notes, "<p>Cancels invoice {}.</p>", escape(original));
    }
    if doc.reverse_charge {
        notes.push_str(
            "<p>VAT reverse charge: VAT to be accounted for by the recipient \
             (Article 196, Council Directive 2006/112/EC).</p>",
        );
    }
    if doc.state == "voided" {
        notes.push_str("<p><strong>Voided.</strong></p>");
    }
    format!(
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>\
         <title>{title} {number}</title><style>\
         body{{font-family:'DejaVu Sans',sans-serif;margin:2em}}\
         table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ccc;\
         padding:4px}}.n{{text-align:right}}</style></head><body>\
         <h1>{title} {number}</h1><p>Issued {issued} &middot; {event}</p>\
         <table><tr><td>{seller}</td><td>{buyer}</td></tr></table><br>\
         <table><tr><th>Item</th><th class=n>Qty</th><th class=n>Unit price</th>\
         <th class=n>VAT rate</th><th class=n>Net</th><th class=n>VAT</th>\
         <th class=n>Total</th></tr>{rows}\
         <tr><th colspan=4>Total</th><th class=n>{net}</th><th class=n>{vat}</th>\
         <th class=n>{gross}</th></tr></table>{notes}</body></html>\n",
        number = escape(&doc.number),
        issued = format_time(doc.issued_at),
        event = escape(&doc.event_name),
        seller = party(&doc.seller),
        buyer = party(&doc.buyer),
        net = money(doc.totals.net, c),
        vat = money(doc.totals.vat, c),
        gross = money(doc.totals.gross, c),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<b>\"Tom & Jerry's\"</b>"),
            "&lt;b&gt;&quot;Tom &amp; Jerry&#39;s&quot;&lt;/b&gt;"
        );
    }
}
