//! Harness shared by the integration tests, the end-to-end suite and the benchmarks.
//!
//! Everything here starts real processes: a PostgreSQL 15 server in a temporary directory
//! ([`pg::PgServer`]) and `ticketing-service` processes ([`service::ShopProcess`]). Each
//! process is stopped when its handle is dropped, so a failing test leaves nothing behind.

pub mod chart;
pub mod cluster;
pub mod ledger;
pub mod load;
pub mod net;
pub mod pg;
pub mod service;
