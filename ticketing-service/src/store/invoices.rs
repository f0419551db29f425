//! Invoices and credit notes: gapless numbers, the pool of voided numbers, listing.
//!
//! A number is taken inside the transaction that issues the document. Taking one locks
//! the kind's counter row until that transaction ends, so numbers are handed out in commit
//! order and a rollback hands its number back: no gap. The lowest pooled number (from a
//! voided invoice) goes first; only with the pool empty does the counter move on.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use crate::checkout::numbering::format_number;
use crate::checkout::vat::{Line, Totals};
use crate::error::ApiError;
use crate::time::format_time;

pub const INVOICE: &str = "invoice";
pub const CREDIT_NOTE: &str = "creditNote";

/// Takes the next number of `kind`: the lowest pooled one, or the counter's next.
pub async fn take_number(conn: &mut PgConnection, kind: &str) -> Result<i32, ApiError> {
    sqlx::query("SELECT last FROM document_sequences WHERE kind = $1 FOR UPDATE")
        .bind(kind)
        .execute(&mut *conn)
        .await?;
    let pooled: Option<i32> = sqlx::query_scalar(
        "DELETE FROM pooled_numbers WHERE kind = $1 AND sequence = \
           (SELECT min(sequence) FROM pooled_numbers WHERE kind = $1) \
         RETURNING sequence",
    )
    .bind(kind)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(sequence) = pooled {
        return Ok(sequence);
    }
    Ok(sqlx::query_scalar(
        "UPDATE document_sequences SET last = last + 1 WHERE kind = $1 RETURNING last",
    )
    .bind(kind)
    .fetch_one(&mut *conn)
    .await?)
}

/// What a new invoice says.
pub struct NewInvoice<'a> {
    pub reservation: Uuid,
    pub event_id: i64,
    pub currency: &'a str,
    pub seller: serde_json::Value,
    pub buyer: serde_json::Value,
    pub lines: &'a [Line],
    pub reverse_charge: bool,
    pub totals: Totals,
    /// `issued`, or `paid` when the order is settled at once.
    pub state: &'static str,
}

/// Issues an invoice; returns its number.
pub async fn issue(
    conn: &mut PgConnection,
    pattern: &str,
    invoice: &NewInvoice<'_>,
) -> Result<String, ApiError> {
    let sequence = take_number(conn, INVOICE).await?;
    let number = format_number(pattern, sequence)
        .map_err(|e| ApiError::Internal(format!("stored invoice pattern: {e}")))?;
    let lines =
        serde_json::to_value(invoice.lines).map_err(|e| ApiError::Internal(e.to_string()))?;
    sqlx::query(
        "INSERT INTO invoices (kind, sequence, number, state, reservation_id, event_id, \
         currency, seller, buyer, lines, reverse_charge, net, vat, gross) \
         VALUES ('invoice', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(sequence)
    .bind(&number)
    .bind(invoice.state)
    .bind(invoice.reservation)
    .bind(invoice.event_id)
    .bind(invoice.currency)
    .bind(&invoice.seller)
    .bind(&invoice.buyer)
    .bind(lines)
    .bind(invoice.reverse_charge)
    .bind(invoice.totals.net)
    .bind(invoice.totals.vat)
    .bind(invoice.totals.gross)
    .execute(&mut *conn)
    .await?;
    Ok(number)
}

/// Marks the live invoice of a reservation paid.
pub async fn mark_paid(conn: &mut PgConnection, reservation: Uuid) -> Result<(), ApiError> {
    sqlx::query(
        "UPDATE invoices SET state = 'paid' \
         WHERE reservation_id = $1 AND kind = 'invoice' AND state = 'issued'",
    )
    .bind(reservation)
    .execute(conn)
    .await?;
    Ok(())
}

/// Voids the unpaid invoices of reservations (whose rows the caller has locked) and puts
/// their numbers in the pool; returns how many.
pub async fn void_unpaid(conn: &mut PgConnection, reservations: &[Uuid]) -> Result<u64, ApiError> {
    let done = sqlx::query(
        "WITH voided AS ( \
             UPDATE invoices SET state = 'voided', voided_at = now() \
             WHERE reservation_id = ANY ($1) AND kind = 'invoice' AND state = 'issued' \
             RETURNING kind, sequence) \
         INSERT INTO pooled_numbers (kind, sequence) SELECT kind, sequence FROM voided \
         ON CONFLICT DO NOTHING",
    )
    .bind(reservations)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Issues a credit note for the paid invoice of a reservation being cancelled, if it has
/// one; returns the credit note's number.
pub async fn credit(
    conn: &mut PgConnection,
    pattern: &str,
    reservation: Uuid,
) -> Result<Option<String>, ApiError> {
    let invoice = sqlx::query(
        "SELECT id, lines, net, vat, gross FROM invoices \
         WHERE reservation_id = $1 AND kind = 'invoice' AND state <> 'voided'",
    )
    .bind(reservation)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(invoice) = invoice else {
        return Ok(None);
    };
    let already: Option<String> = sqlx::query_scalar(
        "SELECT number FROM invoices WHERE reservation_id = $1 AND kind = 'creditNote' \
         AND state <> 'voided'",
    )
    .bind(reservation)
    .fetch_optional(&mut *conn)
    .await?;
    if already.is_some() {
        return Ok(already);
    }
    let invoice_id: i64 = invoice.try_get("id")?;
    let lines: Vec<Line> = serde_json::from_value(invoice.try_get("lines")?)
        .map_err(|e| ApiError::Internal(format!("stored invoice lines: {e}")))?;
    let negated: Vec<Line> = lines
        .into_iter()
        .map(|l| Line {
            net: -l.net,
            vat: -l.vat,
            gross: -l.gross,
            ..l
        })
        .collect();
    let negated = serde_json::to_value(negated).map_err(|e| ApiError::Internal(e.to_string()))?;
    let sequence = take_number(conn, CREDIT_NOTE).await?;
    let number = format_number(pattern, sequence)
        .map_err(|e| ApiError::Internal(format!("stored credit note pattern: {e}")))?;
    let neg = |name: &str| invoice.try_get::<Decimal, _>(name).map(|d| -d);
    sqlx::query(
        "INSERT INTO invoices (kind, sequence, number, state, reservation_id, event_id, \
         refers_to, currency, seller, buyer, lines, reverse_charge, net, vat, gross) \
         SELECT 'creditNote', $1, $2, 'issued', reservation_id, event_id, id, currency, \
                seller, buyer, $3, reverse_charge, $4, $5, $6 \
         FROM invoices WHERE id = $7",
    )
    .bind(sequence)
    .bind(&number)
    .bind(negated)
    .bind(neg("net")?)
    .bind(neg("vat")?)
    .bind(neg("gross")?)
    .bind(invoice_id)
    .execute(&mut *conn)
    .await?;
    Ok(Some(number))
}

/// A line of `GET /admin/v1/events/{event}/invoices`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceEntry {
    pub id: i64,
    pub number: String,
    pub sequence: i32,
    pub kind: String,
    pub state: String,
    pub reservation: Uuid,
    pub issued_at: String,
    pub refers_to: Option<String>,
    pub gross: String,
}

pub async fn list(pool: &PgPool, event_id: i64) -> Result<Vec<InvoiceEntry>, ApiError> {
    let rows = sqlx::query(
        "SELECT i.id, i.number, i.sequence, i.kind, i.state, i.reservation_id, i.issued_at, \
                i.gross, o.number AS refers_to \
         FROM invoices i LEFT JOIN invoices o ON o.id = i.refers_to \
         WHERE i.event_id = $1 ORDER BY i.kind DESC, i.sequence, i.id",
    )
    .bind(event_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let issued_at: DateTime<Utc> = r.try_get("issued_at")?;
            let gross: Decimal = r.try_get("gross")?;
            Ok(InvoiceEntry {
                id: r.try_get("id")?,
                number: r.try_get("number")?,
                sequence: r.try_get("sequence")?,
                kind: r.try_get("kind")?,
                state: r.try_get("state")?,
                reservation: r.try_get("reservation_id")?,
                issued_at: format_time(issued_at),
                refers_to: r.try_get("refers_to")?,
                gross: gross.to_string(),
            })
        })
        .collect()
}

/// Everything a rendered invoice or credit note shows.
#[derive(Debug, Clone)]
pub struct Document {
    pub kind: String,
    pub number: String,
    pub state: String,
    pub refers_to: Option<String>,
    pub issued_at: DateTime<Utc>,
    pub currency: String,
    pub event_name: String,
    pub seller: serde_json::Value,
    pub buyer: serde_json::Value,
    pub lines: Vec<Line>,
    pub reverse_charge: bool,
    pub totals: Totals,
}

const DOCUMENT_SELECT: &str = "SELECT i.kind, i.number, i.state, o.number AS refers_to, \
    i.issued_at, i.currency, e.name AS event_name, i.seller, i.buyer, i.lines, \
    i.reverse_charge, i.net, i.vat, i.gross \
    FROM invoices i JOIN events e ON e.id = i.event_id \
    LEFT JOIN invoices o ON o.id = i.refers_to";

fn document_from_row(r: &sqlx::postgres::PgRow) -> Result<Document, ApiError> {
    Ok(Document {
        kind: r.try_get("kind")?,
        number: r.try_get("number")?,
        state: r.try_get("state")?,
        refers_to: r.try_get("refers_to")?,
        issued_at: r.try_get("issued_at")?,
        currency: r.try_get("currency")?,
        event_name: r.try_get("event_name")?,
        seller: r.try_get("seller")?,
        buyer: r.try_get("buyer")?,
        lines: serde_json::from_value(r.try_get("lines")?)
            .map_err(|e| ApiError::Internal(format!("stored invoice lines: {e}")))?,
        reverse_charge: r.try_get("reverse_charge")?,
        totals: Totals {
            net: r.try_get("net")?,
            vat: r.try_get("vat")?,
            gross: r.try_get("gross")?,
        },
    })
}

/// The reservation's latest document of `kind` (a live one before a voided one).
pub async fn of_reservation(
    pool: &PgPool,
    reservation: Uuid,
    kind: &str,
) -> Result<Document, ApiError> {
    let row = sqlx::query(&format!(
        "{DOCUMENT_SELECT} WHERE i.reservation_id = $1 AND i.kind = $2 \
         ORDER BY (i.state = 'voided'), i.id DESC LIMIT 1"
    ))
    .bind(reservation)
    .bind(kind)
    .fetch_optional(pool)
    .await?
    .ok_or(ApiError::NotFound("invoice_not_found"))?;
    document_from_row(&row)
}

/// One document by its id.
pub async fn by_id(pool: &PgPool, id: i64) -> Result<Document, ApiError> {
    let row = sqlx::query(&format!("{DOCUMENT_SELECT} WHERE i.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or(ApiError::NotFound("invoice_not_found"))?;
    document_from_row(&row)
}
