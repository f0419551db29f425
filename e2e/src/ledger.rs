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
