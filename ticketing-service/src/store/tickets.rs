//! Tickets: issuing them for a reservation's seats, reading them, and checking them in.
//!
//! A check-in is one conditional `UPDATE` (valid, paid, not yet checked in), so of two
//! scanners sending the same code at the same instant exactly one succeeds; the other
//! reads who won and when.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use crate::checkout::contact::Contact;
use crate::checkout::signing::new_code;
use crate::error::ApiError;
use crate::time::format_time;

/// Issues one ticket per seat of a reservation (whose row the caller has locked), unless
/// it has valid tickets already; returns how many it issued.
pub async fn issue(
    conn: &mut PgConnection,
    reservation: Uuid,
    event_id: i64,
    contact: &Contact,
) -> Result<usize, ApiError> {
    let existing: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tickets WHERE reservation_id = $1 AND state = 'valid'",
    )
    .bind(reservation)
    .fetch_one(&mut *conn)
    .await?;
    if existing > 0 {
        return Ok(0);
    }
    sqlx::query("SELECT assign_seats_of($1)")
        .bind(reservation)
        .execute(&mut *conn)
        .await?;
    let seats: Vec<(i64, i32)> = sqlx::query_as(
        "SELECT s.category_id, s.number FROM seats s JOIN categories c ON c.id = s.category_id \
         WHERE s.reservation_id = $1 ORDER BY c.position, s.number",
    )
    .bind(reservation)
    .fetch_all(&mut *conn)
    .await?;

    let buyer = (
        contact.first_name.clone().unwrap_or_default(),
        contact.last_name.clone().unwrap_or_default(),
        contact.email.clone(),
    );
    let (mut codes, mut first, mut last, mut email) = (vec![], vec![], vec![], vec![]);
    for i in 0..seats.len() {
        let who = match contact.attendees.get(i) {
            Some(a) => (
                a.first_name.clone().unwrap_or_default(),
                a.last_name.clone().unwrap_or_default(),
                a.email.clone(),
            ),
            None => buyer.clone(),
        };
        codes.push(new_code());
        first.push(who.0);
        last.push(who.1);
        email.push(who.2);
    }
    let categories: Vec<i64> = seats.iter().map(|s| s.0).collect();
    let numbers: Vec<i32> = seats.iter().map(|s| s.1).collect();
    sqlx::query(
        "INSERT INTO tickets (code, reservation_id, event_id, category_id, seat_number, \
                              first_name, last_name, email) \
         SELECT t.code, $1, $2, t.category, t.number, t.first, t.last, t.email \
         FROM unnest($3::text[], $4::bigint[], $5::int[], $6::text[], $7::text[], $8::text[]) \
              AS t(code, category, number, first, last, email)",
    )
    .bind(reservation)
    .bind(event_id)
    .bind(&codes)
    .bind(&categories)
    .bind(&numbers)
    .bind(&first)
    .bind(&last)
    .bind(&email)
    .execute(&mut *conn)
    .await?;
    Ok(seats.len())
}

/// Cancels the tickets of reservations (whose rows the caller has locked).
pub async fn cancel(conn: &mut PgConnection, reservations: &[Uuid]) -> Result<u64, ApiError> {
    let done = sqlx::query(
        "UPDATE tickets SET state = 'cancelled' \
         WHERE reservation_id = ANY ($1) AND state = 'valid'",
    )
    .bind(reservations)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// A ticket as the API shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketDoc {
    pub code: String,
    pub event: String,
    pub category: String,
    pub seat: i32,
    pub attendee: AttendeeDoc,
    /// `valid`, `paymentDue` (on-site payment not yet made) or `cancelled`.
    pub status: String,
    pub checked_in_at: Option<String>,
    #[serde(skip)]
    pub event_id: i64,
    #[serde(skip)]
    pub reservation: Uuid,
    #[serde(skip)]
    pub checked_in: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttendeeDoc {
    pub first_name: String,
    pub last_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

const TICKET_SELECT: &str = "SELECT t.code, t.event_id, e.slug AS event, c.slug AS category, \
    t.seat_number, t.first_name, t.last_name, t.email, t.state, r.status, t.checked_in_at, \
    t.reservation_id \
    FROM tickets t JOIN events e ON e.id = t.event_id \
    JOIN categories c ON c.id = t.category_id JOIN reservations r ON r.id = t.reservation_id";

fn ticket_from_row(r: &sqlx::postgres::PgRow) -> Result<TicketDoc, ApiError> {
    let state: String = r.try_get("state")?;
    let reservation_status: String = r.try_get("status")?;
    let status = match (state.as_str(), reservation_status.as_str()) {
        ("valid", "paid") => "valid",
        ("valid", "awaitingPayment") => "paymentDue",
        _ => "cancelled",
    };
    let checked_in: Option<DateTime<Utc>> = r.try_get("checked_in_at")?;
    Ok(TicketDoc {
        code: r.try_get("code")?,
        event: r.try_get("event")?,
        category: r.try_get("category")?,
        seat: r.try_get("seat_number")?,
        attendee: AttendeeDoc {
            first_name: r.try_get("first_name")?,
            last_name: r.try_get("last_name")?,
            email: r.try_get("email")?,
        },
        status: status.to_string(),
        checked_in_at: checked_in.map(format_time),
        event_id: r.try_get("event_id")?,
        reservation: r.try_get("reservation_id")?,
        checked_in,
    })
}

pub async fn find(pool: &PgPool, code: &str) -> Result<TicketDoc, ApiError> {
    let row = sqlx::query(&format!("{TICKET_SELECT} WHERE t.code = $1"))
        .bind(code)
        .fetch_optional(pool)
        .await?
        .ok_or(ApiError::NotFound("ticket_not_found"))?;
    ticket_from_row(&row)
}

/// The tickets of a reservation, valid ones first, in seat order.
pub async fn of_reservation(pool: &PgPool, reservation: Uuid) -> Result<Vec<TicketDoc>, ApiError> {
    let rows = sqlx::query(&format!(
        "{TICKET_SELECT} WHERE t.reservation_id = $1 \
         ORDER BY t.state DESC, c.position, t.seat_number"
    ))
    .bind(reservation)
    .fetch_all(pool)
    .await?;
    rows.iter().map(ticket_from_row).collect()
}

/// Every ticket of an event, for the attendee list.
pub async fn of_event(pool: &PgPool, event_id: i64) -> Result<Vec<TicketDoc>, ApiError> {
    let rows = sqlx::query(&format!(
        "{TICKET_SELECT} WHERE t.event_id = $1 ORDER BY c.position, t.seat_number, t.issued_at"
    ))
    .bind(event_id)
    .fetch_all(pool)
    .await?;
    rows.iter().map(ticket_from_row).collect()
}

/// Checks a ticket in if it is valid, paid and not checked in yet; returns when, or
/// `None` when the condition did not hold (the caller reads why).
pub async fn check_in(pool: &PgPool, code: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    Ok(sqlx::query_scalar(
        "UPDATE tickets t SET checked_in_at = now() FROM reservations r \
         WHERE t.code = $1 AND t.state = 'valid' AND t.checked_in_at IS NULL \
           AND r.id = t.reservation_id AND r.status = 'paid' \
         RETURNING t.checked_in_at",
    )
    .bind(code)
    .fetch_optional(pool)
    .await?)
}

/// Checked-in tickets per category of an event.
pub async fn checked_in_by_category(
    pool: &PgPool,
    event_id: i64,
) -> Result<Vec<(i64, i64)>, ApiError> {
    Ok(sqlx::query_as(
        "SELECT category_id, count(*) FROM tickets \
         WHERE event_id = $1 AND checked_in_at IS NOT NULL AND state = 'valid' GROUP BY 1",
    )
    .bind(event_id)
    .fetch_all(pool)
    .await?)
}
