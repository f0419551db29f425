//! Events, categories, seats and statistics.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::{PgConnection, PgPool, Postgres, Row, Transaction};

use super::stripes_for;
use crate::error::ApiError;
use crate::model::event::{CategoryDoc, EventDoc, EventSettings, EventTimes, NewEvent};
use crate::time::parse_zone;

/// An event as stored, with its id.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub id: i64,
    pub slug: String,
    pub settings: EventSettings,
}

const EVENT_COLUMNS: &str = "id, slug, name, timezone, currency, starts_at, ends_at, \
    sale_starts_at, sale_ends_at, check_in_opens_at, check_in_closes_at, \
    max_tickets_per_reservation, reservation_timeout_seconds, payment_deadline_hours, venue";

fn event_from_row(row: &sqlx::postgres::PgRow) -> Result<StoredEvent, ApiError> {
    let zone: String = row.try_get("timezone")?;
    let time = |name: &str| row.try_get::<Option<DateTime<Utc>>, _>(name);
    Ok(StoredEvent {
        id: row.try_get("id")?,
        slug: row.try_get("slug")?,
        settings: EventSettings {
            name: row.try_get("name")?,
            timezone: parse_zone(&zone)
                .ok_or_else(|| ApiError::Internal(format!("stored zone {zone} unknown")))?,
            currency: row.try_get("currency")?,
            venue: row.try_get("venue")?,
            times: EventTimes {
                starts_at: time("starts_at")?,
                ends_at: time("ends_at")?,
                sale_starts_at: time("sale_starts_at")?,
                sale_ends_at: time("sale_ends_at")?,
                check_in_opens_at: time("check_in_opens_at")?,
                check_in_closes_at: time("check_in_closes_at")?,
            },
            max_tickets_per_reservation: row.try_get("max_tickets_per_reservation")?,
            reservation_timeout_seconds: row.try_get("reservation_timeout_seconds")?,
            payment_deadline_hours: row.try_get("payment_deadline_hours")?,
        },
    })
}

/// Creates an event with its categories and seats in one transaction.
/// A slug already taken answers `conflict`.
pub async fn create_event(pool: &PgPool, event: &NewEvent) -> Result<(), ApiError> {
    let mut tx = pool.begin().await?;
    let inserted = bind_settings(
        sqlx::query(
            "INSERT INTO events (slug, name, timezone, currency, starts_at, ends_at, \
             sale_starts_at, sale_ends_at, check_in_opens_at, check_in_closes_at, \
             max_tickets_per_reservation, reservation_timeout_seconds, payment_deadline_hours, \
             venue) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (slug) DO NOTHING RETURNING id",
        )
        .bind(&event.slug),
        &event.settings,
    )
    .fetch_optional(&mut *tx)
    .await?
    .map(|row| row.try_get::<i64, _>("id"))
    .transpose()?;
    let Some(event_id) = inserted else {
        return Err(ApiError::Conflict("conflict"));
    };

    for (position, category) in event.categories.iter().enumerate() {
        let category_id: i64 = sqlx::query_scalar(
            "INSERT INTO categories (event_id, slug, name, price, vat_rate, position, seats, \
             stripes) VALUES ($1, $2, $3, $4, $6, $5, 0, 1) RETURNING id",
        )
        .bind(event_id)
        .bind(&category.slug)
        .bind(&category.name)
        .bind(category.price)
        .bind(position as i32)
        .bind(category.vat_rate)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO category_stripes (category_id, stripe, free) VALUES ($1, 0, 0)")
            .bind(category_id)
            .execute(&mut *tx)
            .await?;
        add_seats_in(&mut tx, category_id, category.seats).await?;
    }
    tx.commit().await?;
    let added: i64 = event.categories.iter().map(|c| i64::from(c.seats)).sum();
    refresh_statistics(pool, added).await
}

/// After a bulk insert of seats, the planner's row estimates are stale until autovacuum
/// runs; a bad estimate turns the seat lookup of the hot path into a scan. Refresh them now.
async fn refresh_statistics(pool: &PgPool, added: i64) -> Result<(), ApiError> {
    if added >= 10_000 {
        sqlx::query("ANALYZE seats").execute(pool).await?;
    }
    Ok(())
}

/// Adds `count` seats to a category, numbered after the last one.
pub async fn add_seats(
    pool: &PgPool,
    event_slug: &str,
    category_slug: &str,
    count: i32,
) -> Result<CategoryDoc, ApiError> {
    let mut tx = pool.begin().await?;
    let event = find_event(&mut tx, event_slug).await?;
    let category_id: i64 = sqlx::query_scalar(
        "SELECT id FROM categories WHERE event_id = $1 AND slug = $2 FOR UPDATE",
    )
    .bind(event.id)
    .bind(category_slug)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::Rule("unknown_category"))?;
    add_seats_in(&mut tx, category_id, count).await?;
    tx.commit().await?;
    refresh_statistics(pool, i64::from(count)).await?;
    categories(pool, event.id)
        .await?
        .into_iter()
        .find(|c| c.slug == category_slug)
        .ok_or_else(|| ApiError::Internal("category vanished after adding seats".into()))
}

async fn add_seats_in(
    tx: &mut Transaction<'_, Postgres>,
    category_id: i64,
    count: i32,
) -> Result<(), ApiError> {
    if count == 0 {
        return Ok(());
    }
    let (seats, stripes): (i32, i32) =
        sqlx::query_as("SELECT seats, stripes FROM categories WHERE id = $1 FOR UPDATE")
            .bind(category_id)
            .fetch_one(&mut **tx)
            .await?;
    let (first, last) = (seats + 1, seats + count);
    sqlx::query(
        "INSERT INTO seats (category_id, number) SELECT $1, n FROM generate_series($2, $3) AS n",
    )
    .bind(category_id)
    .bind(first)
    .bind(last)
    .execute(&mut **tx)
    .await?;
    // More seats may warrant more stripes. Stripes are only counters (a reservation records
    // which ones it took from), so new ones simply start empty.
    let stripes = stripes.max(stripes_for(last));
    sqlx::query(
        "INSERT INTO category_stripes (category_id, stripe, free) \
         SELECT $1, s, 0 FROM generate_series(0, $2 - 1) AS s ON CONFLICT DO NOTHING",
    )
    .bind(category_id)
    .bind(stripes)
    .execute(&mut **tx)
    .await?;
    // Spread the new seats evenly over the stripes.
    sqlx::query(
        "UPDATE category_stripes SET free = free + $2 / $3 \
           + CASE WHEN stripe < $2 % $3 THEN 1 ELSE 0 END \
         WHERE category_id = $1",
    )
    .bind(category_id)
    .bind(count)
    .bind(stripes)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE categories SET seats = $2, stripes = $3 WHERE id = $1")
        .bind(category_id)
        .bind(last)
        .bind(stripes)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The event with `slug`, or `event_not_found`.
pub async fn find_event(conn: &mut PgConnection, slug: &str) -> Result<StoredEvent, ApiError> {
    let row = sqlx::query(&format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE slug = $1"
    ))
    .bind(slug)
    .fetch_optional(conn)
    .await?
    .ok_or(ApiError::NotFound("event_not_found"))?;
    event_from_row(&row)
}

/// Categories in creation order, with their free seats right now.
pub async fn categories(pool: &PgPool, event_id: i64) -> Result<Vec<CategoryDoc>, ApiError> {
    let rows = sqlx::query(
        "SELECT c.slug, c.name, c.price, c.vat_rate, c.seats, \
                (SELECT coalesce(sum(free), 0) FROM category_stripes s \
                 WHERE s.category_id = c.id)::bigint AS available \
         FROM categories c WHERE c.event_id = $1 ORDER BY c.position",
    )
    .bind(event_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(CategoryDoc {
                slug: r.try_get("slug")?,
                name: r.try_get("name")?,
                price: {
                    let mut price: Decimal = r.try_get("price")?;
                    price.rescale(2);
                    price.to_string()
                },
                vat_rate: r.try_get::<Decimal, _>("vat_rate")?.to_string(),
                seats: r.try_get("seats")?,
                available: r.try_get("available")?,
            })
        })
        .collect()
}

/// The event document with live availability.
pub async fn event_doc(pool: &PgPool, slug: &str) -> Result<EventDoc, ApiError> {
    let event = find_event(&mut *pool.acquire().await?, slug).await?;
    let categories = categories(pool, event.id).await?;
    Ok(EventDoc::new(event.slug, &event.settings, categories))
}

/// Writes new settings of an existing event.
pub async fn update_settings(
    pool: &PgPool,
    event_id: i64,
    s: &EventSettings,
) -> Result<(), ApiError> {
    bind_settings(
        sqlx::query(
            "UPDATE events SET name = $2, timezone = $3, currency = $4, starts_at = $5, \
             ends_at = $6, sale_starts_at = $7, sale_ends_at = $8, check_in_opens_at = $9, \
             check_in_closes_at = $10, max_tickets_per_reservation = $11, \
             reservation_timeout_seconds = $12, payment_deadline_hours = $13, venue = $14 \
             WHERE id = $1",
        )
        .bind(event_id),
        s,
    )
    .execute(pool)
    .await?;
    Ok(())
}

type PgQuery<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;

/// Binds `$2` to `$14`: an event's settings, in the column order both statements use.
fn bind_settings<'q>(query: PgQuery<'q>, s: &'q EventSettings) -> PgQuery<'q> {
    let t = &s.times;
    query
        .bind(&s.name)
        .bind(s.timezone.name())
        .bind(&s.currency)
        .bind(t.starts_at)
        .bind(t.ends_at)
        .bind(t.sale_starts_at)
        .bind(t.sale_ends_at)
        .bind(t.check_in_opens_at)
        .bind(t.check_in_closes_at)
        .bind(s.max_tickets_per_reservation)
        .bind(s.reservation_timeout_seconds)
        .bind(s.payment_deadline_hours)
        .bind(&s.venue)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CategoryStats {
    pub slug: String,
    pub seats: i64,
    pub free: i64,
    pub held: i64,
    pub awaiting_payment: i64,
    pub sold: i64,
    pub checked_in: i64,
    /// What paid reservations paid for the category's seats (VAT included, as invoiced).
    pub revenue: String,
}

/// Seats by state, per category, checked-in tickets and revenue.
pub async fn stats(pool: &PgPool, event_id: i64) -> Result<Vec<CategoryStats>, ApiError> {
    let rows = sqlx::query(
        "SELECT c.id, c.slug, c.seats::bigint AS seats, \
            (SELECT coalesce(sum(free), 0) FROM category_stripes s \
             WHERE s.category_id = c.id)::bigint AS free \
         FROM categories c WHERE c.event_id = $1 ORDER BY c.position",
    )
    .bind(event_id)
    .fetch_all(pool)
    .await?;
    let taken: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT a.category, r.status, sum(a.quantity)::bigint \
         FROM reservations r, \
              unnest(r.alloc_categories, r.alloc_quantities) AS a(category, quantity) \
         WHERE r.event_id = $1 AND r.status IN ('held', 'awaitingPayment', 'paid') \
         GROUP BY 1, 2",
    )
    .bind(event_id)
    .fetch_all(pool)
    .await?;
    let checked_in = crate::store::tickets::checked_in_by_category(pool, event_id).await?;
    let revenue: Vec<(String, Decimal)> = sqlx::query_as(
        "SELECT l->>'category', sum((l->>'gross')::numeric) \
         FROM checkouts k JOIN reservations r ON r.id = k.reservation_id \
         CROSS JOIN jsonb_array_elements(k.lines) AS l \
         WHERE r.event_id = $1 AND r.status = 'paid' GROUP BY 1",
    )
    .bind(event_id)
    .fetch_all(pool)
    .await?;
    let count = |category: i64, status: &str| -> i64 {
        taken
            .iter()
            .filter(|(c, s, _)| *c == category && s == status)
            .map(|t| t.2)
            .sum()
    };
    rows.iter()
        .map(|r| {
            let id: i64 = r.try_get("id")?;
            let slug: String = r.try_get("slug")?;
            let mut earned = revenue
                .iter()
                .find(|(c, _)| *c == slug)
                .map_or(Decimal::ZERO, |(_, sum)| *sum);
            earned.rescale(2);
            Ok(CategoryStats {
                revenue: earned.to_string(),
                slug,
                seats: r.try_get("seats")?,
                free: r.try_get("free")?,
                held: count(id, "held"),
                awaiting_payment: count(id, "awaitingPayment"),
                sold: count(id, "paid"),
                checked_in: checked_in
                    .iter()
                    .find(|(c, _)| *c == id)
                    .map_or(0, |(_, n)| *n),
            })
        })
        .collect()
}
