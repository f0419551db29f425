//! SQL. Every query of the service lives here; handlers call these functions.

pub mod checkout;
pub mod confirm;
pub mod events;
pub mod invoices;
pub mod reservations;
pub mod settings;
pub mod tickets;

/// Most stripes a category's free-seat count is split over: enough that 256 concurrent
/// reservations rarely meet on one counter row, few enough that a sold-out check reads
/// one small page.
pub const MAX_STRIPES: i32 = 64;

/// Seats a stripe should hold at least, so that a reservation of up to 10 seats usually
/// fits in one stripe; a request no single stripe can hold locks several, in order.
pub const SEATS_PER_STRIPE: i32 = 40;

/// How many stripes a category of `seats` seats has.
pub fn stripes_for(seats: i32) -> i32 {
    (seats / SEATS_PER_STRIPE).clamp(1, MAX_STRIPES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripes_grow_with_seats_up_to_the_maximum() {
        assert_eq!(stripes_for(0), 1);
        assert_eq!(stripes_for(79), 1);
        assert_eq!(stripes_for(500), 12);
        assert_eq!(stripes_for(1_500), 37);
        assert_eq!(stripes_for(2_000_000), 64);
    }
}
