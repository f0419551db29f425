//! SQL. Every query of the service lives here; handlers call these functions.

pub mod events;
pub mod reservations;

/// Stripes a category's free-seat count is split over. Enough that 256 concurrent
/// reservations rarely meet on one counter row, few enough that a sold-out check reads
/// one small page.
pub const STRIPES: i32 = 64;
