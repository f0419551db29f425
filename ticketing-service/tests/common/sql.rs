//! Invariants of the seat bookkeeping, read straight from the tables.
//!
//! A reservation takes seats off its categories' striped free counters and records what it
//! took (`reservations.alloc_*`); seat rows are given to it a moment later by a background
//! pass (`seats_assigned`). The checks here wait for that pass, then compare all three.

use std::time::{Duration, Instant};

use sqlx::PgPool;

/// How long the background pass may take to give every live reservation its seat rows.
const ASSIGNMENT_DEADLINE: Duration = Duration::from_secs(30);

/// Runs a query that answers one `bigint`.
pub async fn count(db: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(db)
        .await
        .unwrap_or_else(|e| panic!("query failed: {e}\n{sql}"))
}

/// Seats of the whole database, from the `seats` rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatTotals {
    pub seats: i64,
    /// Seats whose `reservation_id` is set.
    pub taken: i64,
    pub free: i64,
}

/// Waits until every live reservation has its seat rows, then checks that every seat is
/// where the reservations say it is, and returns the totals:
///
/// - a seat belongs to at most one reservation (`seats.reservation_id`), which exists;
/// - every live reservation (held, awaiting payment, paid) has, per category, exactly as
///   many seat rows as it took off the counters, and no seat of another category;
/// - cancelled and expired reservations keep no seat;
/// - per category, the free counters plus what live reservations took make its `seats`,
///   the counters equal the seat rows without a reservation, and there are `seats` rows.
pub async fn assert_seats_consistent(db: &PgPool) -> SeatTotals {
    // The shared invariants, in one snapshot once the seat rows have caught up. Seat rows
    // of cancelled or expired reservations count among "seat rows not as taken".
    let mut conn = db.acquire().await.expect("a connection");
    boxoffice_e2e::ledger::assert_settled(&mut conn, ASSIGNMENT_DEADLINE).await;
    drop(conn);

    let counters_off = count(
        db,
        "WITH free AS (
             SELECT category_id, sum(free) AS n FROM category_stripes GROUP BY 1),
         took AS (
             SELECT a.category, sum(a.quantity) AS n
             FROM reservations r,
                  unnest(r.alloc_categories, r.alloc_quantities) AS a(category, quantity)
             WHERE r.status IN ('held', 'awaitingPayment', 'paid')
             GROUP BY 1),
         seat_rows AS (
             SELECT category_id, count(*) AS n, count(*) FILTER (WHERE reservation_id IS NULL)
                    AS free
             FROM seats GROUP BY 1)
         SELECT count(*) FROM categories c
         LEFT JOIN free f ON f.category_id = c.id
         LEFT JOIN took t ON t.category = c.id
         LEFT JOIN seat_rows s ON s.category_id = c.id
         WHERE coalesce(f.n, 0) + coalesce(t.n, 0) <> c.seats
            OR coalesce(s.n, 0) <> c.seats
            OR coalesce(s.free, 0) <> coalesce(f.n, 0)",
    )
    .await;
    assert_eq!(
        counters_off, 0,
        "categories whose counters, reservations and seat rows disagree"
    );

    SeatTotals {
        seats: count(db, "SELECT count(*) FROM seats").await,
        taken: count(
            db,
            "SELECT count(*) FROM seats WHERE reservation_id IS NOT NULL",
        )
        .await,
        free: count(
            db,
            "SELECT count(*) FROM seats WHERE reservation_id IS NULL",
        )
        .await,
    }
}

/// Waits until no live reservation is waiting for its seat rows.
pub async fn wait_for_seat_rows(db: &PgPool) {
    let sql = boxoffice_e2e::ledger::RESERVATIONS_WAITING_FOR_SEATS;
    let start = Instant::now();
    loop {
        let waiting = count(db, sql).await;
        if waiting == 0 {
            return;
        }
        assert!(
            start.elapsed() < ASSIGNMENT_DEADLINE,
            "{waiting} reservations still without seat rows after {ASSIGNMENT_DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The status column of one reservation.
pub async fn reservation_status(db: &PgPool, id: &str) -> String {
    sqlx::query_scalar::<_, String>("SELECT status FROM reservations WHERE id = $1::uuid")
        .bind(id)
        .fetch_one(db)
        .await
        .unwrap_or_else(|e| panic!("no reservation {id} in the database: {e}"))
}
