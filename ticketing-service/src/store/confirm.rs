//! Confirming a held reservation: pricing it, asking the payment provider what confirming
//! means, issuing the invoice and the tickets it calls for, all in one transaction.

use rust_decimal::Decimal;
use serde_json::json;
use sqlx::{PgConnection, PgPool, Postgres, Row, Transaction};
use uuid::Uuid;

use super::checkout::{checkout_of, lock};
use super::{invoices, settings, tickets};
use crate::checkout::payment::{Order, PaymentError, PaymentStart, Payments};
use crate::checkout::vat::{price_line, reverse_charge, totals, Item, Line};
use crate::error::{ApiError, FieldError};

/// The reservation's categories, priced.
async fn price(
    conn: &mut PgConnection,
    id: Uuid,
    reverse: bool,
) -> Result<(Vec<Line>, String), ApiError> {
    let rows = sqlx::query(
        "SELECT c.slug, c.name, c.price, c.vat_rate, a.quantity, e.currency \
         FROM reservations r \
         CROSS JOIN unnest(r.alloc_categories, r.alloc_quantities) AS a(category, quantity) \
         JOIN categories c ON c.id = a.category JOIN events e ON e.id = r.event_id \
         WHERE r.id = $1 ORDER BY c.position",
    )
    .bind(id)
    .fetch_all(conn)
    .await?;
    let mut currency = String::new();
    let mut lines = Vec::new();
    for r in &rows {
        currency = r.try_get("currency")?;
        let item = Item {
            category: r.try_get("slug")?,
            description: r.try_get("name")?,
            quantity: r.try_get("quantity")?,
            unit_price: r.try_get("price")?,
            vat_rate: r.try_get("vat_rate")?,
        };
        lines.push(price_line(&item, reverse));
    }
    Ok((lines, currency))
}

/// Confirms a held reservation with a payment method. Confirming again with the same
/// method answers as the first time; with another, `conflict`.
pub async fn confirm(
    tx: &mut Transaction<'_, Postgres>,
    payments: &Payments,
    id: Uuid,
    method: &str,
) -> Result<(), ApiError> {
    let provider = payments
        .provider(method)
        .ok_or_else(|| ApiError::Validation(vec![FieldError::new("payment", "invalid")]))?;
    let res = lock(tx, id).await?;
    let checkout = checkout_of(tx, id).await?;
    if matches!(res.status.as_str(), "awaitingPayment" | "paid") {
        return match checkout.and_then(|c| c.1) {
            Some(chosen) if chosen == method => Ok(()),
            _ => Err(ApiError::Conflict("conflict")),
        };
    }
    if !res.is_live_hold() {
        return Err(ApiError::Conflict("conflict"));
    }
    let Some((contact, _)) = checkout else {
        return Err(ApiError::Validation(vec![FieldError::new(
            "contact", "required",
        )]));
    };

    let shop = settings::get(tx).await?;
    let billing = contact.invoice.as_ref();
    let reverse = billing.is_some_and(|b| {
        reverse_charge(
            &shop.seller_country,
            b.country.as_deref().unwrap_or_default(),
            b.vat_number.as_deref(),
        )
    });
    let (lines, currency) = price(tx, id, reverse).await?;
    let sums = totals(&lines);
    let deadline_hours: i32 =
        sqlx::query_scalar("SELECT payment_deadline_hours FROM events WHERE id = $1")
            .bind(res.event_id)
            .fetch_one(&mut **tx)
            .await?;
    let order = Order {
        amount_due: sums.gross,
        now: res.now,
        payment_deadline_hours: deadline_hours,
    };
    let start = provider.begin(&order).map_err(|e| match e {
        PaymentError::NotFree => ApiError::Validation(vec![FieldError::new("payment", "not_free")]),
    })?;
    let settled = start == PaymentStart::Settled;

    // The state first, then the invoice, then the tickets.
    let (status, deadline, reference, tickets_now) = match &start {
        PaymentStart::Settled => ("paid", None, None, true),
        PaymentStart::Awaiting {
            deadline,
            reference,
            tickets_now,
        } => (
            "awaitingPayment",
            *deadline,
            reference.clone(),
            *tickets_now,
        ),
    };
    sqlx::query(
        "UPDATE reservations SET status = $2, expires_at = $3, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(deadline)
    .execute(&mut **tx)
    .await?;
    let lines_json = serde_json::to_value(&lines).map_err(|e| ApiError::Internal(e.to_string()))?;
    sqlx::query(
        "UPDATE checkouts SET payment = $2, communication = $3, amount_due = $4, lines = $5, \
         confirmed_at = now(), paid_at = CASE WHEN $6 THEN now() END WHERE reservation_id = $1",
    )
    .bind(id)
    .bind(method)
    .bind(&reference)
    .bind(sums.gross)
    .bind(lines_json)
    .bind(settled)
    .execute(&mut **tx)
    .await?;
    if let Some(b) = billing.filter(|_| sums.gross > Decimal::ZERO) {
        let buyer_name = match b.company.as_deref().filter(|c| !c.trim().is_empty()) {
            Some(company) => company.to_string(),
            None => format!(
                "{} {}",
                contact.first_name.as_deref().unwrap_or_default(),
                contact.last_name.as_deref().unwrap_or_default()
            ),
        };
        let invoice = invoices::NewInvoice {
            reservation: id,
            event_id: res.event_id,
            currency: &currency,
            seller: json!({"name": shop.seller_name, "address": shop.seller_address,
                           "vatNumber": shop.seller_vat_number, "country": shop.seller_country}),
            buyer: json!({"name": buyer_name, "address": b.address, "country": b.country,
                          "vatNumber": b.vat_number, "email": contact.email}),
            lines: &lines,
            reverse_charge: reverse,
            totals: sums,
            state: if settled { "paid" } else { "issued" },
        };
        invoices::issue(tx, &shop.invoice_pattern, &invoice).await?;
    }
    if tickets_now {
        tickets::issue(tx, id, res.event_id, &contact).await?;
    }
    Ok(())
}

/// [`confirm`] in its own transaction, run again when the random bank-transfer reference
/// clashed with an existing one or the transaction hit a deadlock.
pub async fn confirm_reservation(
    pool: &PgPool,
    payments: &Payments,
    id: Uuid,
    method: &str,
) -> Result<(), ApiError> {
    const ATTEMPTS: u32 = 3;
    let mut attempt = 1;
    loop {
        let mut tx = pool.begin().await?;
        let outcome = match confirm(&mut tx, payments, id, method).await {
            Ok(()) => tx.commit().await.map_err(ApiError::from),
            Err(e) => Err(e),
        };
        match outcome {
            Err(e) if attempt < ATTEMPTS && worth_retrying(&e) => attempt += 1,
            other => return other,
        }
    }
}

fn worth_retrying(error: &ApiError) -> bool {
    match error {
        ApiError::Contention(_) => true,
        ApiError::Internal(detail) => detail.contains("checkouts_communication_key"),
        _ => false,
    }
}
