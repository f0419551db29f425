//! The checkout transitions of a reservation, each one transaction: contact details,
//! confirmation (in [`super::confirm`]), payment, cancellation by an admin, and the expiry
//! of unpaid transfers.
//!
//! Every transition starts by locking the reservation row, so two requests about one
//! reservation run one after the other, and each reads the state the other left. A
//! transition repeated after it happened answers the state it reached (confirming twice,
//! marking paid twice, cancelling twice are harmless). A process killed in the middle
//! leaves its transaction uncommitted, so nothing of it happened and a retry does it all.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::json;
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use super::{invoices, settings, tickets};
use crate::checkout::contact::{check_attendee_count, Contact};
use crate::error::ApiError;

/// A reservation row, locked.
pub(super) struct Locked {
    pub(super) status: String,
    pub(super) expires_at: Option<DateTime<Utc>>,
    pub(super) event_id: i64,
    pub(super) now: DateTime<Utc>,
    pub(super) seats: i64,
}

pub(super) async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Locked, ApiError> {
    let row = sqlx::query(
        "SELECT status, expires_at, event_id, now() AS now, \
                (SELECT sum(q) FROM unnest(alloc_quantities) AS q)::bigint AS seats \
         FROM reservations WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(ApiError::NotFound("reservation_not_found"))?;
    Ok(Locked {
        status: row.try_get("status")?,
        expires_at: row.try_get("expires_at")?,
        event_id: row.try_get("event_id")?,
        now: row.try_get("now")?,
        seats: row.try_get::<Option<i64>, _>("seats")?.unwrap_or(0),
    })
}

impl Locked {
    pub(super) fn is_live_hold(&self) -> bool {
        self.status == "held" && self.expires_at.is_some_and(|end| end > self.now)
    }

    /// A bank transfer whose deadline has passed: the sweep is about to expire it, and a
    /// late payment is refunded rather than accepted, as for a hold past its end.
    fn is_past_deadline(&self) -> bool {
        self.status == "awaitingPayment" && self.expires_at.is_some_and(|end| end <= self.now)
    }
}

/// Stores the buyer's details of a held reservation.
pub async fn save_contact(pool: &PgPool, id: Uuid, contact: &Contact) -> Result<(), ApiError> {
    let mut tx = pool.begin().await?;
    let res = lock(&mut tx, id).await?;
    if !res.is_live_hold() {
        return Err(ApiError::Conflict("conflict"));
    }
    check_attendee_count(contact, res.seats).map_err(ApiError::Validation)?;
    let attendees =
        serde_json::to_value(&contact.attendees).map_err(|e| ApiError::Internal(e.to_string()))?;
    let invoice = contact
        .invoice
        .as_ref()
        .map(serde_json::to_value)
        .transpose()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    sqlx::query(
        "INSERT INTO checkouts (reservation_id, email, first_name, last_name, attendees, invoice) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (reservation_id) DO UPDATE SET email = $2, first_name = $3, \
           last_name = $4, attendees = $5, invoice = $6",
    )
    .bind(id)
    .bind(&contact.email)
    .bind(&contact.first_name)
    .bind(&contact.last_name)
    .bind(attendees)
    .bind(invoice)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE reservations SET email = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(&contact.email)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The stored checkout of a reservation: its contact and the payment chosen, if any.
pub(super) async fn checkout_of(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<(Contact, Option<String>)>, ApiError> {
    let row = sqlx::query(
        "SELECT email, first_name, last_name, attendees, invoice, payment \
         FROM checkouts WHERE reservation_id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let bad = |e: serde_json::Error| ApiError::Internal(format!("stored checkout: {e}"));
    let contact = Contact {
        email: row.try_get("email")?,
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        attendees: serde_json::from_value(row.try_get("attendees")?).map_err(bad)?,
        invoice: row
            .try_get::<Option<serde_json::Value>, _>("invoice")?
            .map(serde_json::from_value)
            .transpose()
            .map_err(bad)?,
    };
    Ok(Some((contact, row.try_get("payment")?)))
}

/// Records the payment of a reservation awaiting it: paid, invoice paid, tickets issued.
pub async fn mark_paid(pool: &PgPool, id: Uuid) -> Result<(), ApiError> {
    let mut tx = pool.begin().await?;
    let res = lock(&mut tx, id).await?;
    match res.status.as_str() {
        "paid" => return Ok(()),
        "awaitingPayment" if !res.is_past_deadline() => {}
        _ => return Err(ApiError::Conflict("conflict")),
    }
    sqlx::query(
        "UPDATE reservations SET status = 'paid', expires_at = NULL, updated_at = now() \
         WHERE id = $1",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE checkouts SET paid_at = now() WHERE reservation_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    invoices::mark_paid(&mut tx, id).await?;
    let (contact, _) = checkout_of(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::Internal("a confirmed reservation without checkout".into()))?;
    tickets::issue(&mut tx, id, res.event_id, &contact).await?;
    tx.commit().await?;
    Ok(())
}

/// Cancels a reservation as an admin: a hold is released; an unpaid confirmation voids its
/// invoice; a paid one gets a credit note. Tickets stop working and the seats are free.
pub async fn cancel(pool: &PgPool, id: Uuid) -> Result<(), ApiError> {
    let mut tx = pool.begin().await?;
    let res = lock(&mut tx, id).await?;
    match res.status.as_str() {
        "cancelled" => return Ok(()),
        "held" if !res.is_live_hold() => {
            release(&mut tx, &[id], "expired").await?;
            tx.commit().await?;
            return Err(ApiError::Conflict("conflict"));
        }
        "held" => {}
        "awaitingPayment" => {
            invoices::void_unpaid(&mut tx, &[id]).await?;
        }
        "paid" => {
            let pattern = settings::get(&mut tx).await?.credit_note_pattern;
            invoices::credit(&mut tx, &pattern, id).await?;
        }
        _ => return Err(ApiError::Conflict("conflict")),
    }
    tickets::cancel(&mut tx, &[id]).await?;
    release(&mut tx, &[id], "cancelled").await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn release(
    conn: &mut PgConnection,
    ids: &[Uuid],
    status: &str,
) -> Result<(), ApiError> {
    sqlx::query("SELECT release_reservations($1, $2)")
        .bind(ids)
        .bind(status)
        .execute(conn)
        .await?;
    Ok(())
}

/// Expires up to `limit` reservations whose payment deadline passed: their invoices are
/// voided (the numbers pooled), their seats freed. Rows another process is working on are
/// skipped. Returns how many.
pub async fn expire_payments(pool: &PgPool, limit: i64) -> Result<usize, ApiError> {
    let mut tx = pool.begin().await?;
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM reservations \
         WHERE status = 'awaitingPayment' AND expires_at <= now() \
         ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    invoices::void_unpaid(&mut tx, &ids).await?;
    tickets::cancel(&mut tx, &ids).await?;
    release(&mut tx, &ids, "expired").await?;
    tx.commit().await?;
    Ok(ids.len())
}

/// What the reservation document shows of the checkout.
pub async fn payment_doc(pool: &PgPool, id: Uuid) -> Result<Option<serde_json::Value>, ApiError> {
    let row = sqlx::query(
        "SELECT k.payment, k.communication, k.amount_due, \
                (SELECT number FROM invoices i WHERE i.reservation_id = k.reservation_id \
                 AND i.kind = 'invoice' AND i.state <> 'voided') AS invoice \
         FROM checkouts k WHERE k.reservation_id = $1 AND k.payment IS NOT NULL",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let communication: Option<String> = row.try_get("communication")?;
    let amount: Option<Decimal> = row.try_get("amount_due")?;
    Ok(Some(json!({
        "method": row.try_get::<String, _>("payment")?,
        "amountDue": amount.map(|a| a.to_string()),
        "communication": communication
            .as_deref()
            .map(crate::checkout::payment::format_communication),
        "invoice": row.try_get::<Option<String>, _>("invoice")?,
    })))
}
