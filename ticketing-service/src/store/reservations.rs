//! Reservations: the hot path, reads, cancellation, expiry.
//!
//! The work is done by the SQL functions of the migrations (`reserve_seats`, `cancel_hold`,
//! `expire_holds`): a reservation is one statement and one round trip.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool, Row};
use uuid::Uuid;

use crate::error::ApiError;
use crate::model::reservation::{visible_status, CheckedRequest, ItemDoc, ReservationDoc};
use crate::time::format_time;

/// Holds seats for a new reservation `id`; returns the hold's end. With `wait`, a busy
/// stripe is waited for instead of passed over (see `take_from_stripe`).
pub async fn reserve<'c>(
    executor: impl PgExecutor<'c>,
    event: &str,
    id: Uuid,
    request: &CheckedRequest,
    wait: bool,
) -> Result<DateTime<Utc>, ApiError> {
    let expires_at = sqlx::query_scalar("SELECT reserve_seats($1, $2, $3, $4, $5, $6)")
        .bind(event)
        .bind(&request.categories)
        .bind(&request.quantities)
        .bind(id)
        .bind(&request.email)
        .bind(wait)
        .fetch_one(executor)
        .await?;
    Ok(expires_at)
}

/// Gathers the seats left of the request's categories into fewer stripes.
pub async fn rebalance<'c>(
    executor: impl PgExecutor<'c>,
    event: &str,
    request: &CheckedRequest,
) -> Result<(), ApiError> {
    sqlx::query("SELECT rebalance_stripes($1, $2)")
        .bind(event)
        .bind(&request.categories)
        .execute(executor)
        .await?;
    Ok(())
}

/// Expires the event's holds that are past their end; returns how many.
pub async fn expire_event_holds(pool: &PgPool, event: &str) -> Result<i32, ApiError> {
    let expired: Option<i32> =
        sqlx::query_scalar("SELECT expire_holds(id, 1000) FROM events WHERE slug = $1")
            .bind(event)
            .fetch_optional(pool)
            .await?;
    Ok(expired.unwrap_or(0))
}

/// Expires up to `limit` holds past their end, per event, of every event.
pub async fn expire_holds(pool: &PgPool, limit: i32) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT coalesce(sum(expire_holds(id, $1)), 0)::bigint FROM events")
        .bind(limit)
        .fetch_one(pool)
        .await
}

/// Gives seat rows to up to `limit` reservations that have none yet; returns how many.
pub async fn assign_seats(pool: &PgPool, limit: i32) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar("SELECT assign_seats($1)")
        .bind(limit)
        .fetch_one(pool)
        .await
}

/// Cancels a hold; returns the status it ended in (`cancelled`, or `expired` when its time
/// was already up).
pub async fn cancel(pool: &PgPool, id: Uuid) -> Result<String, ApiError> {
    Ok(sqlx::query_scalar("SELECT cancel_hold($1)")
        .bind(id)
        .fetch_one(pool)
        .await?)
}

/// The reservation document, or `reservation_not_found`.
pub async fn find(pool: &PgPool, id: Uuid) -> Result<ReservationDoc, ApiError> {
    let row = sqlx::query(
        "SELECT r.status, r.expires_at, r.email, e.slug, now() AS now, \
            coalesce((SELECT json_agg(json_build_object('category', slug, 'quantity', n) \
                                      ORDER BY position) \
                      FROM (SELECT c.slug, c.position, sum(a.quantity) AS n \
                            FROM unnest(r.alloc_categories, r.alloc_quantities) \
                                   AS a(category, quantity) \
                            JOIN categories c ON c.id = a.category \
                            GROUP BY c.slug, c.position) AS items), '[]'::json) AS items \
         FROM reservations r JOIN events e ON e.id = r.event_id WHERE r.id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or(ApiError::NotFound("reservation_not_found"))?;
    let status: String = row.try_get("status")?;
    let expires_at: Option<DateTime<Utc>> = row.try_get("expires_at")?;
    let now: DateTime<Utc> = row.try_get("now")?;
    let items: serde_json::Value = row.try_get("items")?;
    let items: Vec<serde_json::Value> = serde_json::from_value(items).unwrap_or_default();
    Ok(ReservationDoc {
        id,
        event: row.try_get("slug")?,
        status: visible_status(&status, expires_at, now).to_string(),
        expires_at: expires_at.map(format_time),
        email: row.try_get("email")?,
        items: items
            .into_iter()
            .map(|i| ItemDoc {
                category: i["category"].as_str().unwrap_or_default().to_string(),
                quantity: i["quantity"].as_i64().unwrap_or_default() as i32,
            })
            .collect(),
        tickets: Vec::new(),
        payment: None,
    })
}
