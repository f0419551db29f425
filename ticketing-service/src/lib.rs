//! `ticketing-service`: one organizer's shop, built for flash sales.
//!
//! A request travels `http` (routing, auth, metrics) → `model` (parsing and checks that
//! need no database) → `reserving` (retries, idempotency) → `store` (SQL). The hot path is
//! one statement: the `reserve_seats` function of the migrations takes seats from striped
//! counters, so concurrent reservations do not queue on one row, and a sold-out category
//! is answered from a plain read.

pub mod checkout;
pub mod config;
pub mod db;
pub mod error;
pub mod http;
pub mod metrics;
pub mod model;
pub mod render;
pub mod reserving;
pub mod server;
pub mod store;
pub mod sweeper;
pub mod time;
