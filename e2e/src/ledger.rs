//! The seat ledger's invariants as SQL, shared by every suite that checks a shop's database.
//!
//! Each query counts violations, so a correct database answers 0. They know the schema of
//! `migrations/`, and are kept here once so a schema change is mended in one place.

/// Live reservations still waiting for their seat rows (the background pass catches up).
pub const RESERVATIONS_WAITING_FOR_SEATS: &str = "SELECT count(*) FROM reservations \
     WHERE NOT seats_assigned AND status IN ('held', 'awaitingPayment', 'paid')";

/// Seat rows given to a reservation that does not exist.
pub const SEATS_OF_NO_RESERVATION: &str = "SELECT count(*) FROM seats s \
     WHERE s.reservation_id IS NOT NULL \
       AND NOT EXISTS (SELECT 1 FROM reservations r WHERE r.id = s.reservation_id)";

/// (reservation, category) pairs whose seat rows differ from what the reservation took off
/// the counters; only live reservations may hold seat rows.
pub const SEAT_ROWS_NOT_AS_TAKEN: &str = "WITH took AS ( \
         SELECT r.id, a.category, sum(a.quantity) AS n \
         FROM reservations r, \
              unnest(r.alloc_categories, r.alloc_quantities) AS a(category, quantity) \
         WHERE r.status IN ('held', 'awaitingPayment', 'paid') \
         GROUP BY 1, 2), \
     given AS ( \
         SELECT reservation_id AS id, category_id AS category, count(*) AS n \
         FROM seats WHERE reservation_id IS NOT NULL GROUP BY 1, 2) \
     SELECT count(*) FROM took FULL JOIN given USING (id, category) \
     WHERE coalesce(took.n, 0) <> coalesce(given.n, 0)";

/// Categories whose live reservations hold more seats than the category has: oversell.
pub const OVERSOLD_CATEGORIES: &str = "SELECT count(*) FROM categories c \
     WHERE c.seats < (SELECT coalesce(sum(a.quantity), 0) \
         FROM reservations r, \
              unnest(r.alloc_categories, r.alloc_quantities) AS a(category, quantity) \
         WHERE r.status IN ('held', 'awaitingPayment', 'paid') AND a.category = c.id)";

/// Categories whose free counters disagree with their seat rows that nobody holds. Only
/// meaningful once [`RESERVATIONS_WAITING_FOR_SEATS`] is 0 in the same snapshot.
pub const FREE_COUNTERS_NOT_SEAT_ROWS: &str = "SELECT count(*) FROM categories c \
     WHERE (SELECT coalesce(sum(free), 0) FROM category_stripes s WHERE s.category_id = c.id) \
        <> (SELECT count(*) FROM seats s \
            WHERE s.category_id = c.id AND s.reservation_id IS NULL)";

/// Every invariant above but the waiting count, by name, for checkers that run them all.
pub const INVARIANTS: [(&str, &str); 4] = [
    ("seat rows of no reservation", SEATS_OF_NO_RESERVATION),
    (
        "seat rows not as taken off the counters",
        SEAT_ROWS_NOT_AS_TAKEN,
    ),
    ("oversold categories", OVERSOLD_CATEGORIES),
    (
        "free counters not matching free seat rows",
        FREE_COUNTERS_NOT_SEAT_ROWS,
    ),
];

/// What [`check_settled`] found.
#[derive(Debug, Clone)]
pub struct Settled {
    /// `"<invariant>: <count>"` for each broken invariant; empty when the ledger is sound.
    pub violations: Vec<String>,
    /// How long the seat rows took to catch up with the reservations.
    pub settled_in: std::time::Duration,
}

/// [`check_settled`] for a test: panics when the ledger cannot be read or breaks an
/// invariant, naming every violation.
pub async fn assert_settled(db: &mut sqlx::PgConnection, settle: std::time::Duration) -> Settled {
    let settled = check_settled(db, settle)
        .await
        .unwrap_or_else(|e| panic!("the seat ledger could not be checked: {e:#}"));
    assert!(
        settled.violations.is_empty(),
        "seat ledger broken: {:?}",
        settled.violations
    );
    settled
}

/// Waits (up to `settle`) until every live reservation has its seat rows, then runs every
/// invariant of [`INVARIANTS`] in that same snapshot, so a hold expiring between two
/// queries cannot look like a violation.
pub async fn check_settled(
    db: &mut sqlx::PgConnection,
    settle: std::time::Duration,
) -> anyhow::Result<Settled> {
    use sqlx::Connection;

    let started = std::time::Instant::now();
    loop {
        let mut tx = db.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await?;
        let waiting: i64 = sqlx::query_scalar(RESERVATIONS_WAITING_FOR_SEATS)
            .fetch_one(&mut *tx)
            .await?;
        if waiting > 0 {
            tx.rollback().await?;
            anyhow::ensure!(
                started.elapsed() < settle,
                "{waiting} reservations still without seat rows after {settle:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        }
        let settled_in = started.elapsed();
        let mut violations = Vec::new();
        for (name, sql) in INVARIANTS {
            let count: i64 = sqlx::query_scalar(sql).fetch_one(&mut *tx).await?;
            if count != 0 {
                violations.push(format!("{name}: {count}"));
            }
        }
        tx.rollback().await?;
        return Ok(Settled {
            violations,
            settled_in,
        });
    }
}
